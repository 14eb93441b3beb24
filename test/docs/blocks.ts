// The code blocks of a markdown file, and how the docs tests run them.
//
// Every fenced block must name its language. ts/js blocks are programs: each runs as its own
// process, importing the package by its name ('tensorbolt' resolves to this checkout's dist/ by
// the package's self-reference). A block whose first line is a file name comment
// (`// train-job.ts`) is also written as that file, so that other blocks of the same page can
// import or start it; such a block is not run by itself when another block of the page refers to
// it. sh blocks are commands, checked as shown in docs.test.ts; text blocks are not code.
import { readFileSync } from 'node:fs';

export interface Block {
  /** The file it comes from and the line its fence opens on, for messages. */
  where: string;
  lang: 'ts' | 'js' | 'sh' | 'text';
  code: string;
  /** From a first-line comment `// name.ts`: the module name other blocks import (`name.js`). */
  file: string | null;
}

const LANGS: Record<string, Block['lang']> = {
  ts: 'ts', typescript: 'ts', js: 'js', javascript: 'js', sh: 'sh', bash: 'sh', shell: 'sh', text: 'text',
};

export function blocksOf(path: string, label: string): Block[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(```+|~~~+)\s*([\w-]*)/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, info] = open;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.trimStart().startsWith(fence!); i++) body.push(lines[i]!.slice(indent!.length));
    const where = `${label}:${start + 1}`;
    const lang = LANGS[info!.toLowerCase()];
    if (!lang) throw new Error(`${where}: a code block needs a language (ts, js, sh or text), got '${info}'`);
    const code = body.join('\n');
    const named = /^\/\/\s*([\w.-]+)\.(ts|js|mts|mjs)\b/.exec(body[0] ?? '');
    out.push({ where, lang, code, file: named ? named[1]! : null });
  }
  return out;
}

/** Blocks of a page that run as programs: every ts/js block but those another block imports or starts. */
export function programs(blocks: Block[]): Block[] {
  const code = blocks.filter((b) => b.lang === 'ts' || b.lang === 'js');
  return code.filter((b) => !b.file || !code.some((o) => o !== b && o.code.includes(`./${b.file}.js`)));
}
