/**
 * Test helpers for plugin authors and keepsake's own tests: an in-memory source and sink with
 * counters (reads, puts, concurrency), importable as `@keepsake/core/testing`.
 * @packageDocumentation
 */
export { MemorySink, MemorySource, memoryResource } from './testing/memory.js';
