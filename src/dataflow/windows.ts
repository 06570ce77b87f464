// Window assignment and event-time watermarks (docs/dataflows.md
// "Semantics" answers sdf-dataflow.md §7 #1–#8).
//
// - Windows are epoch-aligned and half-open [start, end). Tumbling: start =
//   ts − (ts mod size). Sliding: instances start at multiples of `slide`, so
//   a record belongs to the size/slide instances whose range holds it.
// - The watermark is per input (topic partition) the largest event time seen
//   there; the service watermark is the minimum over the inputs that are not
//   idle, never moving back. An input with no record for `idleness` (wall
//   clock) is idle and leaves the minimum until it delivers again. When every
//   input is idle, each further idleness period advances the watermark to
//   the oldest open window's end + grace, closing it.
// - A window instance closes (and is emitted once) when watermark ≥ end +
//   grace. A record is late for an instance that is already closed by that
//   rule when it arrives; it is dropped (or side-output) only if no instance
//   takes it.

export interface WindowConfig {
  kind: 'tumbling' | 'sliding';
  /** Length of a window (ms). */
  size: number;
  /** Distance between window starts (ms); = size for tumbling windows. */
  slide: number;
  /** Allowed lateness after a window's end (ms). */
  grace: number;
  /** Wall-clock ms without input after which an input is idle; undefined: never. */
  idleness?: number;
}

function floorTo(ts: number, step: number): number {
  return ts - (((ts % step) + step) % step);
}

/** Starts of the window instances that hold `ts`, oldest first. */
export function windowStarts(config: WindowConfig, ts: number): number[] {
  const last = floorTo(ts, config.slide);
  const out: number[] = [];
  for (let start = last - Math.ceil(config.size / config.slide - 1) * config.slide; start <= last; start += config.slide) {
    if (ts >= start && ts < start + config.size) out.push(start);
  }
  return out;
}

/** Whether the instance [start, start+size) is closed at watermark `wm`. */
export function isClosed(config: WindowConfig, start: number, wm: number): boolean {
  return start + config.size + config.grace <= wm;
}

/** One input's event-time state (the engine keeps a handle per input partition). */
export interface InputState {
  max: number;
  lastSeen: number;
  idle: boolean;
}

export interface WatermarkSnapshot {
  value: number | null;
  inputs: [string, number | null][];
}

export class Watermark {
  private readonly inputs = new Map<string, InputState>();
  private current = -Infinity;
  private lastIdleAdvance = 0;

  constructor(private readonly idleness: number | undefined) {}

  get value(): number {
    return this.current;
  }

  /** An input that holds the watermark back from now on, until it delivers or goes idle. */
  register(input: string, now: number): void {
    if (!this.inputs.has(input)) this.inputs.set(input, { max: -Infinity, lastSeen: now, idle: false });
  }

  /** The state of `input` (registered now if new), to touch and observe without a lookup per record. */
  input(input: string, now: number): InputState {
    this.register(input, now);
    return this.inputs.get(input)!;
  }

  /** A record arrived on an input (activity, whatever its event time). */
  static touch(state: InputState, now: number): void {
    state.lastSeen = now;
    state.idle = false;
  }

  /** An event time seen on an input; true when it raised the input's maximum. */
  static observe(state: InputState, ts: number): boolean {
    if (!(ts > state.max)) return false;
    state.max = ts;
    return true;
  }

  /** Recomputes the service watermark from the inputs; returns it (it never decreases). */
  update(): number {
    let min = Infinity;
    let active = 0;
    for (const state of this.inputs.values()) {
      if (state.idle) continue;
      active++;
      if (state.max < min) min = state.max;
    }
    if (active > 0 && min > this.current) this.current = min;
    return this.current;
  }

  /** Marks inputs idle by the wall clock; true when every input is idle (and there is at least one). */
  checkIdle(now: number): boolean {
    if (this.idleness === undefined) return false;
    let allIdle = this.inputs.size > 0;
    for (const state of this.inputs.values()) {
      if (!state.idle && now - state.lastSeen >= this.idleness) state.idle = true;
      if (!state.idle) allIdle = false;
    }
    return allIdle;
  }

  /** Whether a further all-idle advance is due (one per idleness period). */
  idleAdvanceDue(now: number): boolean {
    if (this.idleness === undefined) return false;
    let newest = 0;
    for (const state of this.inputs.values()) newest = Math.max(newest, state.lastSeen);
    return now - Math.max(newest, this.lastIdleAdvance) >= this.idleness;
  }

  /** Moves the watermark forward to `to` (idleness), recording when. */
  advanceTo(to: number, now: number): void {
    if (to > this.current) this.current = to;
    this.lastIdleAdvance = now;
  }

  isIdle(input: string): boolean {
    return this.inputs.get(input)?.idle ?? false;
  }

  inputsView(): { input: string; max: number | null; idle: boolean }[] {
    return [...this.inputs].map(([input, s]) => ({ input, max: Number.isFinite(s.max) ? s.max : null, idle: s.idle }));
  }

  snapshot(): WatermarkSnapshot {
    return {
      value: Number.isFinite(this.current) ? this.current : null,
      inputs: [...this.inputs].map(([input, s]) => [input, Number.isFinite(s.max) ? s.max : null]),
    };
  }

  /** Restores the event-time state; wall-clock activity starts afresh at `now`. */
  restore(snapshot: WatermarkSnapshot, now: number): void {
    this.current = snapshot.value ?? -Infinity;
    this.inputs.clear();
    for (const [input, max] of snapshot.inputs) this.inputs.set(input, { max: max ?? -Infinity, lastSeen: now, idle: false });
    this.lastIdleAdvance = 0;
  }
}
