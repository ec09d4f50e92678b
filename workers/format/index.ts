// The DARE 2.0 codec's public surface: pure functions over bytes, no I/O, safe in any thread.
export * from './dare-error.js';
export * from './dare-header.js';
export * from './dare-size.js';
export * from './dare-aead.js';
export * from './dare-seal.js';
export * from './dare-open.js';
