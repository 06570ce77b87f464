// Lines out of a byte stream without decoding it: chunks are cut at \n (a
// trailing \r goes too), a line split across chunks is joined, and a last
// line without \n still counts.

const withoutCr = (line: Buffer) => (line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line);

export class LineSplitter {
  private carry: Buffer[] = [];

  /** Calls `onLine` for every complete line in `chunk`. */
  push(chunk: Buffer, onLine: (line: Buffer) => void): void {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      let line = chunk.subarray(start, nl);
      if (this.carry.length > 0) {
        line = Buffer.concat([...this.carry, line]);
        this.carry = [];
      }
      onLine(withoutCr(line));
      start = nl + 1;
    }
    if (start < chunk.length) this.carry.push(chunk.subarray(start));
  }

  /** The last line, if the input did not end with \n. */
  end(onLine: (line: Buffer) => void): void {
    if (this.carry.length === 0) return;
    const line = Buffer.concat(this.carry);
    this.carry = [];
    onLine(withoutCr(line));
  }
}
