/** A minimal typed event emitter (no dependency on the shape of Node's `EventEmitter` typings). */

/** Any listener, as stored. */
type Listener = (...args: never[]) => void;

/** Event name → listener arguments. */
export type EventMap = Record<string, unknown[]>;

/** Listeners keyed by event; a throwing listener is reported to `onListenerError`, never to the emitter. */
export class TypedEmitter<E extends EventMap> {
  /**
   * Listeners per event, each list replaced (never changed) by on/off: emit walks the list it read,
   * so listeners added or removed meanwhile take effect from the next emit, without a copy per emit
   * (a worker emits per task).
   */
  private readonly listeners = new Map<keyof E, readonly Listener[]>();

  /** Adds a listener (once: adding the same function again does nothing). */
  on<K extends keyof E>(event: K, listener: (...args: E[K]) => void): this {
    const list = this.listeners.get(event) ?? [];
    const fn = listener as unknown as Listener;
    if (!list.includes(fn)) this.listeners.set(event, [...list, fn]);
    return this;
  }

  /** Removes a listener. */
  off<K extends keyof E>(event: K, listener: (...args: E[K]) => void): this {
    const list = this.listeners.get(event);
    const fn = listener as unknown as Listener;
    if (list === undefined || !list.includes(fn)) return this;
    const rest = list.filter((l) => l !== fn);
    if (rest.length === 0) this.listeners.delete(event);
    else this.listeners.set(event, rest);
    return this;
  }

  /** Adds a listener that runs once. */
  once<K extends keyof E>(event: K, listener: (...args: E[K]) => void): this {
    const wrapper = (...args: E[K]) => {
      this.off(event, wrapper);
      listener(...args);
    };
    return this.on(event, wrapper);
  }

  /** Number of listeners of an event. */
  listenerCount(event: keyof E): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  /** Calls the listeners of `event`; true when there was at least one. */
  protected emit<K extends keyof E>(event: K, ...args: E[K]): boolean {
    const list = this.listeners.get(event);
    if (list === undefined) return false;
    for (const listener of list) {
      try {
        (listener as unknown as (...a: E[K]) => void)(...args);
      } catch (err) {
        // A listener's bug must not break task processing.
        this.onListenerError(err);
      }
    }
    return true;
  }

  /** Where listener exceptions go; default: rethrown on a later tick (like an unhandled error). */
  protected onListenerError(err: unknown): void {
    queueMicrotask(() => {
      throw err;
    });
  }
}
