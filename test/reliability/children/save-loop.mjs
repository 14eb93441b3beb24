// Saves one model over and over into the same folder, each version with every weight set to its
// version number, announcing each save on stdout ("saving i", then "saved i"). During save number
// <killAt> + 1 of this run it stops at <point> inside the save, says "at <point> <i>" and waits to be
// killed (test/reliability/crash_save.test.ts SIGKILLs it there): every kill lands where the test
// says, on any machine. The points are calls into node:fs, wrapped here before the library loads:
//   weights-write   half of the weights file's bytes written to its temporary file
//   weights-rename  the weights file complete, about to be renamed into place
//   json-write      half of model.json written to its temporary file
//   json-rename     the weights file in place, model.json about to be renamed over the old one
//   after-commit    the new model.json just renamed into place (the old weights not yet removed)
//   node save-loop.mjs <library bundle> <folder> <first version> <point> <killAt>
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { basename } from 'node:path';

const [libPath, dir, firstArg, point, killAtArg] = process.argv.slice(2);
const { openSync, writeSync, renameSync } = fs;
const say = (s) => writeSync(1, s + '\n');
const stopHere = (v) => {
  say(`at ${point} ${v}`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // until SIGKILL
};
let armed = false;
let version = 0;
const paths = new Map();
fs.openSync = (p, ...rest) => {
  const fd = openSync(p, ...rest);
  paths.set(fd, String(p));
  return fd;
};
fs.writeSync = (fd, buf, off, len, ...rest) => {
  const p = basename(paths.get(fd) ?? '');
  const which = !p.endsWith('.tmp') ? null : p.startsWith('.model.json.') ? 'json-write' : 'weights-write';
  if (armed && which === point && typeof len === 'number' && len > 1) {
    writeSync(fd, buf, off, Math.floor(len / 2));
    stopHere(version);
  }
  return writeSync(fd, buf, off, len, ...rest);
};
fs.renameSync = (from, to) => {
  const json = basename(String(to)) === 'model.json';
  if (armed && point === (json ? 'json-rename' : 'weights-rename')) stopHere(version);
  renameSync(from, to);
  if (armed && json && point === 'after-commit') stopHere(version);
};
syncBuiltinESMExports();

const tb = await import(libPath);
const model = tb.sequential([tb.layers.dense({ units: 1024, inputShape: [2048] }), tb.layers.dense({ units: 16 })]);
const weights = model.layers.flatMap((l) => l.weightsWithNames().map(([, t]) => t));
say('ready');
for (let v = Number(firstArg), n = 0; ; v++, n++) {
  for (const t of weights) t.f32('test').fill(v);
  version = v;
  armed = n === Number(killAtArg);
  say(`saving ${v}`);
  await model.save(`file://${dir}`);
  say(`saved ${v}`);
}
