import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { packPdfObjects } from '../../lambdas/shared/evidence/pdf-object-streams';

/** A one-page PDF as Chromium lays one out: numbered objects, one content stream, a table at the end. */
function chromiumShapedPdf(): { pdf: Buffer; bodies: Map<number, string> } {
  const content = 'BT /F1 12 Tf 10 10 Td (endobj inside a stream) Tj ET';
  const bodies = new Map<number, string>([
    [1, '<</Title (a report)>>'],
    [2, '<</Type /Catalog /Pages 3 0 R>>'],
    [3, '<</Type /Pages /Kids [4 0 R] /Count 1>>'],
    [4, '<</Type /Page /Parent 3 0 R /MediaBox [0 0 200 200] /Contents 5 0 R>>'],
    [5, `<</Length ${content.length}>> stream\n${content}\nendstream`],
    [6, '<</Type /StructElem /S /P /K 0>>'],
  ]);
  let text = '%PDF-1.4\n';
  const offsets: number[] = [];
  for (const [n, body] of bodies) {
    offsets[n] = text.length;
    text += `${n} 0 obj\n${body}\nendobj\n`;
  }
  const xref = text.length;
  text += `xref\n0 ${bodies.size + 1}\n0000000000 65535 f \n`;
  for (const [n] of bodies) text += `${String(offsets[n]).padStart(10, '0')} 00000 n \n`;
  text += `trailer\n<</Size ${bodies.size + 1}\n/Root 2 0 R\n/Info 1 0 R>>\nstartxref\n${xref}\n%%EOF\n`;
  return { pdf: Buffer.from(text, 'latin1'), bodies };
}

/** Reads every object back through the packed file's cross-reference stream, as a reader does. */
function readBack(pdf: Buffer): Map<number, string> {
  const text = pdf.toString('latin1');
  const start = Number(/startxref\n(\d+)\n%%EOF\n$/.exec(text)?.[1]);
  const streamOf = (at: number) => {
    const head = /^\d+ 0 obj\n(<<[^]*?>>) stream\n/.exec(text.slice(at));
    if (!head) throw new Error(`no stream object at ${at}`);
    const length = Number(/\/Length (\d+)/.exec(head[1] ?? '')?.[1]);
    return { dict: head[1] ?? '', data: pdf.subarray(at + head[0].length, at + head[0].length + length) };
  };
  const xref = streamOf(start);
  expect(xref.dict).toContain('/Type /XRef');
  expect(xref.dict).toContain('/Root 2 0 R');
  const rows = inflateSync(xref.data);
  const objects = new Map<number, string>();
  for (let n = 0; n < rows.length / 7; n += 1) {
    const type = rows.readUInt8(n * 7);
    const a = rows.readUInt32BE(n * 7 + 1);
    const b = rows.readUInt16BE(n * 7 + 5);
    if (type === 1) {
      const body = /^\d+ 0 obj\n([^]*?)\nendobj\n/.exec(text.slice(a))?.[1] ?? '';
      if (!body.includes('/Type /ObjStm') && !body.includes('/Type /XRef')) objects.set(n, body);
    } else if (type === 2) {
      const holder = streamOf(rows.readUInt32BE(a * 7 + 1));
      const first = Number(/\/First (\d+)/.exec(holder.dict)?.[1]);
      const data = inflateSync(holder.data).toString('latin1');
      const pairs = data.slice(0, first).trim().split(' ').map(Number);
      const from = first + (pairs[2 * b + 1] ?? 0);
      const to = pairs[2 * b + 3] === undefined ? data.length : first + (pairs[2 * b + 3] ?? 0);
      expect(pairs[2 * b]).toBe(n);
      objects.set(n, data.slice(from, to).trim());
    }
  }
  return objects;
}

describe('packing a PDF’s objects into object streams', () => {
  it('keeps every object, its number and its text: the streams as they were, the rest compressed', () => {
    const { pdf, bodies } = chromiumShapedPdf();

    const packed = packPdfObjects(pdf);

    expect(packed.subarray(0, 9).toString('latin1')).toBe('%PDF-1.5\n');
    expect(readBack(packed)).toEqual(bodies);
    expect(packed.toString('latin1')).not.toContain('/StructElem');
  });

  it('returns a file not in the shape it knows as it came: already packed, or not a PDF', () => {
    const packed = packPdfObjects(chromiumShapedPdf().pdf);
    const notPdf = Buffer.from('not a PDF at all');

    expect(packPdfObjects(packed)).toBe(packed);
    expect(packPdfObjects(notPdf)).toBe(notPdf);
  });
});
