// Data to stdout, fast and pipe-friendly: writes are gathered and sent in
// chunks, the writer waits when the reader is slower (backpressure), and a
// reader that goes away (`| head`, EPIPE) ends the output quietly instead of
// crashing the command.

const CHUNK = 64 * 1024;

export class OutputWriter {
  private parts: string[] = [];
  private size = 0;
  private scheduled = false;
  private draining: Promise<void> | undefined;
  private closedResolve!: () => void;
  /** Resolves when the reader went away. */
  readonly readerGone = new Promise<void>((resolve) => (this.closedResolve = resolve));
  closed = false;

  constructor(private readonly stream: NodeJS.WritableStream = process.stdout) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
      this.closed = true;
      this.parts = [];
      this.closedResolve();
    });
  }

  /** Queues text; the returned promise (if any) says to wait for the reader before writing more. */
  write(text: string): Promise<void> | undefined {
    if (this.closed) return undefined;
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= CHUNK) return this.send();
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.send();
      });
    }
    return this.draining;
  }

  private send(): Promise<void> | undefined {
    if (this.closed || this.parts.length === 0) return this.draining;
    const text = this.parts.join('');
    this.parts = [];
    this.size = 0;
    if (!this.stream.write(text) && !this.draining) {
      this.draining = new Promise<void>((resolve) => {
        const done = () => {
          this.draining = undefined;
          resolve();
        };
        this.stream.once('drain', done);
        void this.readerGone.then(done);
      });
    }
    return this.draining;
  }

  /** Sends what is queued and waits until the stream took it. */
  async flush(): Promise<void> {
    await this.send();
    if (this.closed) return;
    await Promise.race([new Promise<void>((resolve) => this.stream.write('', () => resolve())), this.readerGone]);
  }
}

let stdout: OutputWriter | undefined;

/** The process's single stdout writer. */
export function stdoutWriter(): OutputWriter {
  stdout ??= new OutputWriter(process.stdout);
  return stdout;
}
