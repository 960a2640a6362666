/** Version of the plugin API this core implements; plugins declare `engines.keepsake` against it. */
export const CORE_VERSION = '0.1.0';
