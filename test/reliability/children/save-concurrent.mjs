// One of several processes saving to the same folder at once: model 'writer<id>', every weight equal
// to <id>, saved <count> times (test/reliability/concurrent_save.test.ts).
//   node save-concurrent.mjs <library bundle> <folder> <id> <count>
const [libPath, dir, idArg, countArg] = process.argv.slice(2);
const tb = await import(libPath);
const id = Number(idArg);
const model = tb.sequential({ name: `writer${id}`, layers: [tb.layers.dense({ units: 64, inputShape: [256] }), tb.layers.dense({ units: 8 })] });
for (const l of model.layers) for (const [, t] of l.weightsWithNames()) t.f32('test').fill(id);
for (let i = 0; i < Number(countArg); i++) await model.save(`file://${dir}`);
console.log('done');
