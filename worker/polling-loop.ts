/**
 * A background loop that works in passes and sleeps between them, and stops
 * promptly: `stop()` wakes a sleeping loop and waits for the pass in progress
 * (which commits or rolls back) to end.
 */
export abstract class PollingLoop {
  private loop: Promise<void> | null = null;
  private stopping = false;
  private wakeSleeper: (() => void) | null = null;

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeSleeper?.();
    await this.loop;
  }

  /** One pass; answers how long to sleep before the next (0: at once). Must not throw. */
  protected abstract pass(): Promise<number>;

  private async run(): Promise<void> {
    while (!this.stopping) {
      const sleepMs = await this.pass();
      if (sleepMs > 0) await this.sleep(sleepMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeSleeper = null;
        resolve();
      }, ms);
      this.wakeSleeper = () => {
        clearTimeout(timer);
        this.wakeSleeper = null;
        resolve();
      };
    });
  }
}
