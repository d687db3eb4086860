#!/usr/bin/env node
// Writes examples/preferences.jsonl: the demo's preference pairs, deterministic (seeded).
// The preference rule, checkable by eye and by code: the chosen answer is correct and calm; the
// rejected answer is the same question answered wrongly, rudely, or in shouted capitals.
// Run: node examples/generate-preferences.js > examples/preferences.jsonl
'use strict';

let state = 20231129;
function rand() {
  // mulberry32: tiny and seedable; quality is plenty for picking templates.
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (xs) => xs[Math.floor(rand() * xs.length)];

const colors = { sky: 'blue', grass: 'green', snow: 'white', coal: 'black', banana: 'yellow', tomato: 'red', pumpkin: 'orange', chocolate: 'brown', lemon: 'yellow', cherry: 'red', leaf: 'green', cloud: 'white', ocean: 'blue', carrot: 'orange' };
const legs = { dog: 'four', spider: 'eight', bird: 'two', cat: 'four', ant: 'six', horse: 'four', duck: 'two', beetle: 'six' };
const opposites = { hot: 'cold', up: 'down', big: 'small', day: 'night', fast: 'slow', open: 'closed', happy: 'sad', light: 'dark' };

const facts = [
  ...Object.entries(colors).map(([k, v]) => ({ q: [`What color is the ${k}?`, `What colour is the ${k}?`, `Which color is the ${k}?`], a: `The ${k} is ${v}.`, wrong: (w) => `The ${k} is ${w}.`, pool: Object.values(colors), v })),
  ...Object.entries(legs).map(([k, v]) => ({ q: [`How many legs does a ${k} have?`, `How many legs has a ${k}?`, `Count the legs of a ${k}.`], a: `A ${k} has ${v} legs.`, wrong: (w) => `A ${k} has ${w} legs.`, pool: Object.values(legs), v })),
  ...Object.entries(opposites).map(([k, v]) => ({ q: [`What is the opposite of ${k}?`, `What is the antonym of ${k}?`, `Opposite of ${k}?`], a: `The opposite of ${k} is ${v}.`, wrong: (w) => `The opposite of ${k} is ${w}.`, pool: Object.values(opposites), v })),
];
const frames = [(q) => `Q: ${q}\nA:`, (q) => `Question: ${q}\nAnswer:`, (q) => `User: ${q}\nAssistant:`];
const rude = ['Look it up yourself.', 'Why would I tell you?', 'Not my problem.', 'Figure it out.'];

const lines = [];
for (let i = 0; i < 300; i++) {
  const f = facts[i % facts.length];
  const prompt = pick(frames)(pick(f.q));
  const kind = pick(['wrong', 'wrong', 'rude', 'shout']);
  let rejected;
  if (kind === 'wrong') rejected = f.wrong(pick(f.pool.filter((w) => w !== f.v)));
  else if (kind === 'rude') rejected = pick(rude);
  else rejected = `${f.a.toUpperCase().replace(/\.$/, '')}!!!`;
  lines.push(JSON.stringify({ prompt, chosen: ` ${f.a}`, rejected: ` ${rejected}` }));
}
process.stdout.write(lines.join('\n') + '\n');
