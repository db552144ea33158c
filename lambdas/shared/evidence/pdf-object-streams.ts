import { deflateSync } from 'node:zlib';

/**
 * Packs a PDF's small objects into compressed object streams (PDF 1.5, ISO 32000-1 §7.5.7), with a
 * cross-reference stream in place of the table. Chromium writes a tagged PDF, whose structure tree
 * (an element per table cell and per run of text, which screen readers read) it stores as plain
 * objects: about 100 bytes each, 0.9 MB of a three-month report. Compressed, they take a tenth of
 * that. Nothing is renumbered or rewritten: streams (pages, fonts) are copied byte for byte, and
 * every other object keeps its number and its text.
 *
 * Total: a file not in the one shape it knows (Chromium's: one cross-reference table at the end,
 * generation 0, no encryption, no object streams yet) is returned as it came.
 */
export function packPdfObjects(pdf: Buffer): Buffer {
  const layout = readLayout(pdf);
  if (!layout) return pdf;
  const { objects, trailer } = layout;
  const out: Buffer[] = [];
  let length = 0;
  const write = (chunk: Buffer | string) => {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    out.push(buffer);
    length += buffer.length;
  };
  const size = Math.max(...objects.map((o) => o.number)) + 1;
  /** Per object number: [type, field 2, field 3] of its cross-reference entry. */
  const entries = new Map<number, [number, number, number]>();
  write('%PDF-1.5\n%\xe2\xe3\xcf\xd3\n');
  const small: PdfObject[] = [];
  for (const object of objects) {
    if (object.stream) {
      entries.set(object.number, [1, length, 0]);
      write(`${object.number} 0 obj\n`);
      write(object.body);
      write('\nendobj\n');
    } else small.push(object);
  }
  let next = size;
  for (let i = 0; i < small.length; i += PER_STREAM) {
    const batch = small.slice(i, i + PER_STREAM);
    const number = next++;
    const offsets: string[] = [];
    const bodies: Buffer[] = [];
    let at = 0;
    batch.forEach((object, index) => {
      entries.set(object.number, [2, number, index]);
      offsets.push(`${object.number} ${at}`);
      bodies.push(object.body, Buffer.from('\n'));
      at += object.body.length + 1;
    });
    const header = `${offsets.join(' ')}\n`;
    const data = deflateSync(Buffer.concat([Buffer.from(header, 'latin1'), ...bodies]));
    entries.set(number, [1, length, 0]);
    write(
      `${number} 0 obj\n<</Type /ObjStm /N ${batch.length} /First ${header.length} /Filter /FlateDecode /Length ${data.length}>> stream\n`,
    );
    write(data);
    write('\nendstream\nendobj\n');
  }
  const xref = next;
  entries.set(xref, [1, length, 0]);
  const rows = Buffer.alloc((xref + 1) * 7);
  for (let n = 0; n <= xref; n += 1) {
    const [type, a, b] = entries.get(n) ?? [0, 0, n === 0 ? 65535 : 0];
    rows.writeUInt8(type, n * 7);
    rows.writeUInt32BE(a, n * 7 + 1);
    rows.writeUInt16BE(b, n * 7 + 5);
  }
  const table = deflateSync(rows);
  write(
    `${xref} 0 obj\n<</Type /XRef /Size ${xref + 1} /W [1 4 2] /Root ${trailer.root} /Info ${trailer.info} /Filter /FlateDecode /Length ${table.length}>> stream\n`,
  );
  write(table);
  write(`\nendstream\nendobj\nstartxref\n${entries.get(xref)?.[1]}\n%%EOF\n`);
  return Buffer.concat(out, length);
}

/** Objects per object stream: a reader inflates a whole stream to read one of them. */
const PER_STREAM = 200;

interface PdfObject {
  number: number;
  /** Between `N 0 obj` and `endobj`, trimmed. */
  body: Buffer;
  stream: boolean;
}

/** The objects and the trailer's references, or undefined for a file not in Chromium's shape. */
function readLayout(
  pdf: Buffer,
): { objects: PdfObject[]; trailer: { root: string; info: string } } | undefined {
  const tail = pdf.subarray(Math.max(0, pdf.length - 1024)).toString('latin1');
  const start = Number(/startxref\s+(\d+)\s+%%EOF\s*$/.exec(tail)?.[1]);
  if (!Number.isSafeInteger(start) || start <= 0 || start >= pdf.length) return undefined;
  const rest = pdf.subarray(start).toString('latin1');
  const section = /^xref\s+0 (\d+)\s+/.exec(rest);
  if (!section) return undefined;
  const count = Number(section[1]);
  const rowsAt = section[0].length;
  const trailerText = rest.slice(rowsAt + count * 20);
  const trailer = /^trailer\s*<<([\s\S]*?)>>\s*startxref/.exec(trailerText)?.[1];
  const root = trailer && /\/Root (\d+ 0 R)/.exec(trailer)?.[1];
  const info = trailer && /\/Info (\d+ 0 R)/.exec(trailer)?.[1];
  if (!trailer || !root || !info || /\/(Encrypt|Prev|XRefStm)\b/.test(trailer)) return undefined;
  const used: { number: number; offset: number }[] = [];
  for (let n = 0; n < count; n += 1) {
    const row = rest.slice(rowsAt + n * 20, rowsAt + n * 20 + 20);
    const entry = /^(\d{10}) (\d{5}) ([nf])/.exec(row);
    if (!entry) return undefined;
    if (entry[3] === 'n') {
      if (entry[2] !== '00000') return undefined;
      used.push({ number: n, offset: Number(entry[1]) });
    }
  }
  // An object ends where the next one (in the file) starts: a stream's bytes may hold "endobj".
  const inFile = [...used].sort((a, b) => a.offset - b.offset);
  const objects: PdfObject[] = [];
  for (const [i, { number, offset }] of inFile.entries()) {
    const text = pdf.subarray(offset, inFile[i + 1]?.offset ?? start);
    const head = new RegExp(`^${number} 0 obj\\s`).exec(text.subarray(0, 32).toString('latin1'));
    const close = text.lastIndexOf('endobj');
    if (!head || close < 0) return undefined;
    const body = trimmed(text.subarray(head[0].length, close));
    const stream = body.subarray(Math.max(0, body.length - 9)).toString('latin1') === 'endstream';
    if (!stream && /\/Type\s*\/(ObjStm|XRef)\b/.test(body.toString('latin1'))) return undefined;
    objects.push({ number, body, stream });
  }
  return { objects: objects.sort((a, b) => a.number - b.number), trailer: { root, info } };
}

function trimmed(buffer: Buffer): Buffer {
  let from = 0;
  let to = buffer.length;
  const space = (byte: number | undefined) =>
    byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
  while (from < to && space(buffer[from])) from += 1;
  while (to > from && space(buffer[to - 1])) to -= 1;
  return buffer.subarray(from, to);
}
