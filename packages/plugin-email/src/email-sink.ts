import { Readable } from 'node:stream';
import {
  type Asset,
  abortError,
  defineCapabilities,
  hashingTap,
  isAbortError,
  KeepsakeError,
  type Logger,
  primaryResource,
  type PutContext,
  type Receipt,
  type Resource,
  renderTemplate,
  SinkError,
  type Sink,
  type SinkCapabilities,
  type StoredResource,
  templateValues,
  throwIfAborted,
} from '@keepsake/core';
import { createTransport } from 'nodemailer';
import { attachmentWireSize, largestSingleAttachment, MESSAGE_HEADER_ALLOWANCE, textPartWireSize } from './message-size.js';
import type { EmailOptions } from './options.js';
import { emailSinkKey } from './options.js';
import { isSizeRejection, mapSmtpError, partialRecipientRefusal, type SmtpFailure } from './smtp-errors.js';
import type { SentLog } from './sent-log.js';
import { probeSmtpSize, type SmtpProbeResult } from './smtp-size.js';

/** Sends one composed message; returns the server's final reply and the Message-ID. Injected in tests. */
export interface MailSender {
  send(message: OutgoingMessage, signal: AbortSignal): Promise<{ response: string; messageId: string }>;
  close(): void;
}

export interface OutgoingMessage {
  subject: string;
  text: string;
  attachments: { filename: string; contentType: string; content: Readable }[];
  /** Upper bound of the encoded size (what the budget counted), for logs and tests. */
  estimatedBytes: number;
}

export interface EmailSinkDeps {
  options: EmailOptions;
  password: string | undefined;
  logger: Logger;
  /** Asks the server for its SIZE limit; defaults to a raw EHLO. */
  probe?: () => Promise<SmtpProbeResult>;
  sender?: MailSender;
  /** Remembers what got a 250, so a rerun does not mail it again (see SentLog). */
  sentLog?: SentLog;
}

interface Pending {
  asset: Asset;
  ctx: PutContext;
  /** Estimated encoded bytes this asset adds to a message (attachments + its body lines). */
  wireBytes: number;
  bodyLines: string[];
  resolve(receipt: Receipt): void;
  reject(err: unknown): void;
  detachAbort(): void;
}

const BODY_HEADER = 'Sent by keepsake. Each attachment with its size and SHA-256, to check the copy later:\n\n';

/**
 * The `email` sink. `put` queues an asset and resolves when the message carrying it got the
 * server's 250 after DATA; a message is sent when the next asset would not fit the budget, or on
 * `flush`. Messages go out one at a time. A failed message fails only its own assets.
 */
export class EmailSink implements Sink {
  readonly key: string;
  readonly capabilities: SinkCapabilities;
  private readonly options: EmailOptions;
  private readonly logger: Logger;
  private readonly probe: () => Promise<SmtpProbeResult>;
  private readonly sender: MailSender;
  private limit: Promise<number> | undefined;
  /** Lowered when a server answers 552 to a message under its advertised size. */
  private learnedLimit = Number.POSITIVE_INFINITY;
  private queue: Pending[] = [];
  private queuedBytes = 0;
  private sendChain: Promise<void> = Promise.resolve();
  /** Puts still sizing their asset (before they join the queue); flush waits for them. */
  private readonly arriving = new Set<Promise<unknown>>();
  private closed = false;
  private readonly closeController = new AbortController();
  private readonly sentLog: SentLog | undefined;

  constructor(deps: EmailSinkDeps) {
    this.options = deps.options;
    this.logger = deps.logger;
    this.key = emailSinkKey(deps.options);
    const o = deps.options;
    this.probe =
      deps.probe ?? (() => probeSmtpSize({ host: o.host, port: o.port, secure: o.secure, timeoutMs: o.timeoutSeconds * 1000 }));
    this.sender = deps.sender ?? createNodemailerSender(o, deps.password);
    this.sentLog = deps.sentLog;
    this.capabilities = defineCapabilities({
      hashes: [],
      resumableUpload: false,
      // a message is accepted whole (250) or not at all
      atomicWrite: true,
      serverSideDedupe: 'none',
      maxItemBytes: largestSingleAttachment(o.maxMessageBytes),
      maxBatchBytes: o.maxMessageBytes,
      // put only queues; a high limit lets the pipeline hand over enough assets to fill a message
      maxConcurrency: 64,
      preservesCaptureDate: false,
      livePhotoPairs: true,
      offsite: true,
      canVerify: false,
    });
  }

  async put(asset: Asset, ctx: PutContext): Promise<Receipt> {
    if (this.closed) throw SinkError.writeFailed('The email sink was closed', { classification: 'fatal' });
    throwIfAborted(ctx.signal);
    const already = await this.sentLog?.lookup(asset.resources);
    if (already) {
      this.logger.debug('already sent; not mailing it again', { asset: asset.id });
      return { items: already };
    }
    const admitted = this.admit(asset, ctx);
    const marker = admitted.catch(() => undefined);
    this.arriving.add(marker);
    try {
      await admitted;
    } finally {
      this.arriving.delete(marker);
    }
    return admitted.then((enqueue) => enqueue());
  }

  /** Sizes the asset against the message limit; returns the step that queues it. */
  private async admit(asset: Asset, ctx: PutContext): Promise<() => Promise<Receipt>> {
    const limit = Math.min(await this.messageLimit(), this.learnedLimit);
    const sized = await Promise.all(asset.resources.map(async (r) => ({ r, size: r.size ?? (await measure(r, ctx.signal)) })));
    const bodyLines = sized.map(({ r, size }) => `${r.name}  ${size} bytes  sha256 ${r.sha256 ?? 'not computed'}`);
    const wireBytes =
      sized.reduce((sum, { r, size }) => sum + attachmentWireSize(r.name, size), 0) + 3 * bodyLines.reduce((s, l) => s + Buffer.byteLength(l) + 1, 0);
    const alone = this.fixedOverhead() + wireBytes;
    if (alone > limit) {
      const total = sized.reduce((s, x) => s + x.size, 0);
      throw SinkError.tooLarge(`Asset ${asset.id} (${sized.map((x) => x.r.name).join(' + ')})`, total, largestSingleAttachment(limit), {
        assetId: asset.id,
        stage: 'put',
        hint: `Encoded for email it needs about ${alone} bytes, over the ${limit}-byte message limit. Send it to another destination; it was not sent.`,
      });
    }
    return () => new Promise<Receipt>((resolve, reject) => {
      if (ctx.signal.aborted) return reject(abortError(ctx.signal.reason));
      if (this.queue.length > 0 && this.fixedOverhead() + this.queuedBytes + wireBytes > limit) this.dispatch();
      const onAbort = () => {
        const i = this.queue.indexOf(pending);
        if (i < 0) return; // already in a message; the send itself notices the abort
        this.queue.splice(i, 1);
        this.queuedBytes -= wireBytes;
        reject(abortError(ctx.signal.reason));
      };
      const pending: Pending = {
        asset,
        ctx,
        wireBytes,
        bodyLines,
        resolve,
        reject,
        detachAbort: () => ctx.signal.removeEventListener('abort', onAbort),
      };
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      this.queue.push(pending);
      this.queuedBytes += wireBytes;
    });
  }

  /** Sends what is queued and waits until every message sent so far has settled. */
  async flush(_ctx?: { signal: AbortSignal; logger: Logger }): Promise<void> {
    while (this.arriving.size > 0) await Promise.all(this.arriving);
    this.dispatch();
    await this.sendChain;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    this.closeController.abort();
    this.sender.close();
  }

  /** The smaller of `maxMessageBytes` and the server's advertised SIZE. Probed once per sink instance. */
  private messageLimit(): Promise<number> {
    if (!this.limit) {
      const configured = this.options.maxMessageBytes;
      this.limit = this.probe().then(
        (res) => {
          if (res.maxMessageBytes !== undefined && res.maxMessageBytes < configured) {
            this.logger.info('SMTP server limits message size', { serverSize: res.maxMessageBytes, configured });
            return res.maxMessageBytes;
          }
          return configured;
        },
        (err) => {
          this.limit = undefined; // try again on the next put
          throw mapSmtpError(err, `${this.options.host}:${this.options.port}`);
        },
      );
    }
    return this.limit;
  }

  private fixedOverhead(): number {
    return MESSAGE_HEADER_ALLOWANCE + textPartWireSize(BODY_HEADER) + 3 * Buffer.byteLength(this.options.subject) + 256;
  }

  private dispatch(): void {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    for (const p of batch) p.detachAbort();
    this.sendChain = this.sendChain.then(() => this.sendBatch(batch));
  }

  /** Sends one message; never throws — every pending put in it is settled. */
  private async sendBatch(batch: Pending[]): Promise<void> {
    const live = batch.filter((p) => {
      if (!p.ctx.signal.aborted) return true;
      p.reject(abortError(p.ctx.signal.reason));
      return false;
    });
    if (live.length === 0) return;
    const estimatedBytes = this.fixedOverhead() + live.reduce((s, p) => s + p.wireBytes, 0);
    const taps = live.map((p) => p.asset.resources.map((r) => ({ r, tap: hashingTap(r.open({ signal: p.ctx.signal })) })));
    const first = live[0]!;
    const more = live.length > 1 ? ` (+${live.length - 1} more)` : '';
    const message: OutgoingMessage = {
      subject: renderTemplate(this.options.subject, templateValues(first.asset, primaryResource(first.asset))).trim() + more,
      text: BODY_HEADER + live.flatMap((p) => p.bodyLines).join('\n') + '\n',
      attachments: taps.flatMap((parts, i) =>
        parts.map(({ r, tap }) => ({
          filename: r.name,
          contentType: r.mediaType,
          content: Readable.from(progress(tap.stream, live[i]!.ctx)),
        })),
      ),
      estimatedBytes,
    };
    const signals = [this.closeController.signal, ...live.map((p) => p.ctx.signal)];
    let sent: { response: string; messageId: string };
    try {
      sent = await this.sender.send(message, AbortSignal.any(signals));
    } catch (err) {
      for (const a of message.attachments) a.content.destroy();
      if (isSizeRejection(err) && live.length > 1) {
        // the server's real limit is below what it advertised (or below maxMessageBytes): halve and resend
        this.learnedLimit = Math.min(this.learnedLimit, estimatedBytes - 1);
        this.logger.warn('SMTP server refused a message as too large; splitting it', { assets: live.length, estimatedBytes });
        const half = Math.ceil(live.length / 2);
        await this.sendBatch(live.slice(0, half));
        await this.sendBatch(live.slice(half));
        return;
      }
      for (const p of live) p.reject(this.failureFor(p, err, estimatedBytes));
      return;
    }
    for (const [i, p] of live.entries()) {
      const items: StoredResource[] = taps[i]!.map(({ r, tap }) => {
        const { bytes, hashes } = tap.result();
        return {
          resourceKey: r.key,
          role: r.role,
          name: r.name,
          location: `mailto:${this.options.to}`,
          remoteId: sent.messageId,
          size: bytes,
          hashes: { sha256: hashes.sha256! },
          verified: false,
        };
      });
      await this.sentLog?.record(items).catch((err: Error) => this.logger.warn('could not record a sent message', { error: err.message }));
      p.resolve({ items });
    }
    this.logger.debug('email sent', { assets: live.length, messageId: sent.messageId, response: sent.response });
  }

  private failureFor(p: Pending, err: unknown, estimatedBytes: number): KeepsakeError {
    if (p.ctx.signal.aborted) return abortError(p.ctx.signal.reason);
    if (isSizeRejection(err)) {
      const size = p.asset.resources.reduce((s, r) => s + (r.size ?? 0), 0);
      return SinkError.tooLarge(`Asset ${p.asset.id}`, size, largestSingleAttachment(estimatedBytes - 1), {
        assetId: p.asset.id,
        stage: 'put',
        cause: err,
        hint: 'The server answered 552: the message is over its size limit (or the mailbox is full). It was not sent.',
      });
    }
    const mapped = mapSmtpError(err, `${this.options.host}:${this.options.port}`);
    // another asset's abort or read error took this message down: this asset itself can be sent again
    if (isAbortError(mapped)) {
      return SinkError.writeFailed('The message was cancelled before the server accepted it', { classification: 'retryable', assetId: p.asset.id, cause: err });
    }
    return mapped.withContext({ assetId: p.asset.id, stage: 'put' });
  }
}

/** Counts the bytes of a resource whose size the source did not know (derived files). */
async function measure(r: Resource, signal: AbortSignal): Promise<number> {
  let n = 0;
  for await (const chunk of r.open({ signal })) n += chunk.byteLength;
  return n;
}

async function* progress(stream: AsyncIterable<Uint8Array>, ctx: PutContext): AsyncGenerator<Uint8Array> {
  for await (const chunk of stream) {
    ctx.onProgress(chunk.byteLength);
    yield chunk;
  }
}

/** nodemailer's SMTP transport: one connection per message, timeouts on every phase. */
export function createNodemailerSender(o: EmailOptions, password: string | undefined): MailSender {
  const timeout = o.timeoutSeconds * 1000;
  const transport = createTransport({
    host: o.host,
    port: o.port,
    secure: o.secure,
    requireTLS: o.requireTLS && !o.secure,
    auth: o.user ? { user: o.user, pass: password ?? '' } : undefined,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const from = o.from ?? o.user!;
  return {
    async send(message, signal) {
      const info = await transport.sendMail({
        from,
        to: o.to,
        subject: message.subject,
        text: message.text,
        attachments: message.attachments,
        signal,
      } as never);
      const response = String((info as { response?: string }).response ?? '');
      if (!response.startsWith('250')) {
        throw new KeepsakeError('SINK_WRITE_FAILED', `The server did not confirm the message with 250 (it said "${response}")`, { classification: 'retryable' });
      }
      // nodemailer succeeds when at least one recipient was accepted; the refused ones got nothing
      const { rejected = [], rejectedErrors = [] } = info as { rejected?: unknown[]; rejectedErrors?: SmtpFailure[] };
      if (rejected.length > 0) throw partialRecipientRefusal(rejected.map(String), rejectedErrors, `${o.host}:${o.port}`);
      return { response, messageId: String((info as { messageId?: string }).messageId ?? '') };
    },
    close() {
      transport.close();
    },
  };
}
