import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RowStore } from './report-model';

/**
 * The report's rendered table rows, written to a temporary file as they are rendered and read back in
 * the page's order: at 100,000 decisions the tables hold 40,000 rows (12 MB of HTML), which held as
 * strings until the page is written were the largest thing `reauth report` kept. What stays in memory
 * is each row's offset and length.
 */
export class RowSpill implements RowStore {
  private readonly dir = mkdtempSync(join(tmpdir(), 'reauth-report-rows-'));
  private readonly fd = openSync(join(this.dir, 'rows.html'), 'w+');
  private readonly pending = Buffer.alloc(64 * 1024);
  private used = 0;
  /** Bytes in the file, pending ones included. */
  private bytes = 0;
  private count = 0;
  private offsets = new Float64Array(1024);
  private lengths = new Uint32Array(1024);

  keep(row: string): number {
    const length = Buffer.byteLength(row);
    if (this.used + length > this.pending.length) this.flush();
    if (length > this.pending.length) this.writeAll(Buffer.from(row), length, this.bytes);
    else this.used += this.pending.write(row, this.used);
    if (this.count === this.offsets.length) {
      const offsets = new Float64Array(this.count * 2);
      offsets.set(this.offsets);
      this.offsets = offsets;
      const lengths = new Uint32Array(this.count * 2);
      lengths.set(this.lengths);
      this.lengths = lengths;
    }
    this.offsets[this.count] = this.bytes;
    this.lengths[this.count] = length;
    this.bytes += length;
    this.count += 1;
    return this.count - 1;
  }

  *read(numbers: readonly number[]): Generator<string> {
    this.flush();
    let buffer = Buffer.alloc(4096);
    for (const n of numbers) {
      const length = this.lengths[n] as number;
      if (length > buffer.length) buffer = Buffer.alloc(length);
      let read = 0;
      while (read < length) {
        read += readSync(this.fd, buffer, read, length - read, (this.offsets[n] as number) + read);
      }
      yield buffer.toString('utf8', 0, length);
    }
  }

  /** Deletes the file. */
  close(): void {
    closeSync(this.fd);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private flush(): void {
    this.writeAll(this.pending, this.used, this.bytes - this.used);
    this.used = 0;
  }

  private writeAll(buffer: Buffer, length: number, position: number): void {
    let written = 0;
    while (written < length) {
      written += writeSync(this.fd, buffer, written, length - written, position + written);
    }
  }
}
