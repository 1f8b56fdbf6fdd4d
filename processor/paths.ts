import path from 'node:path';

/** The installed package's root, from the compiled tree (dist/processor). */
export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');

/** The bundled example rules, used by the embedded default configuration. */
export const BUNDLED_RULES_DIR = path.join(PACKAGE_ROOT, 'rules');

/** The product version, from package.json. */
export const PRODUCT_VERSION: string = (
  require(path.join(PACKAGE_ROOT, 'package.json')) as { version: string }
).version;
