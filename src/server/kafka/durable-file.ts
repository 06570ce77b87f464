import { readJsonIfExists, writeJsonAtomic } from '../../common/index.js';

/**
 * A JSON file rewritten atomically whenever its owner's state changes.
 * Writes coalesce: changes made while a write is in flight are all carried by
 * the next one, so a burst of commits costs two writes, not one each. save()
 * resolves once a write that started after the call has reached the disk.
 */
export class CoalescedJsonFile<T> {
  private writing: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  constructor(
    readonly file: string,
    private readonly snapshot: () => T,
  ) {}

  read(): Promise<T | undefined> {
    return readJsonIfExists<T>(this.file);
  }

  save(): Promise<void> {
    if (!this.writing) {
      this.writing = writeJsonAtomic(this.file, this.snapshot()).finally(() => {
        this.writing = undefined;
      });
      return this.writing;
    }
    this.next ??= this.writing
      .catch(() => undefined)
      .then(() => {
        this.next = undefined;
        return this.save();
      });
    return this.next;
  }
}
