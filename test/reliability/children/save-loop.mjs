// Saves one model over and over into the same folder, each version with every weight set to its
// version number, announcing each save on stdout ("saving i", then "saved i"). The parent kills
// this process with SIGKILL at a random moment (test/reliability/crash_save.test.ts).
//   node save-loop.mjs <library bundle> <folder> <first version>
const [libPath, dir, firstArg] = process.argv.slice(2);
const tb = await import(libPath);
const model = tb.sequential([tb.layers.dense({ units: 1024, inputShape: [2048] }), tb.layers.dense({ units: 16 })]);
const weights = model.layers.flatMap((l) => l.weightsWithNames().map(([, t]) => t));
const say = (s) => new Promise((r) => process.stdout.write(s + '\n', r));
await say('ready');
for (let v = Number(firstArg); ; v++) {
  for (const t of weights) t.f32('test').fill(v);
  await say(`saving ${v}`);
  await model.save(`file://${dir}`);
  await say(`saved ${v}`);
}
