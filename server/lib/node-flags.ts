// V8 flags the server process runs with. V8 freezes its flags once it has started (v8.setFlagsFromString
// then changes nothing), and NODE_OPTIONS refuses these, so every way of starting the server passes them
// on node's command line: `npm start`, the image's CMD, and the benchmarks that start the server.
//
// --liftoff-only keeps WebAssembly on V8's baseline compiler. The SQL parser (libpg-query) is WebAssembly;
// after ~5,000 parses V8's optimizing compiler tiers up its largest function (the grammar's parser) and
// takes ~610 MB of compiler memory for about half a second: a spike in every server process, at whatever
// moment the parser gets hot (it was the 570 MB "RSS growth" of the first large JSON result in the
// engine benchmark). A parse on the baseline code takes ~32 µs instead of ~24 µs.
export const SERVER_NODE_FLAGS = ['--liftoff-only'] as const;

/** The flags this process was started without (the server warns about them at start). */
export function missingNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return SERVER_NODE_FLAGS.filter((flag) => !execArgv.includes(flag));
}
