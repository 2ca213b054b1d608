/**
 * The event file a hook writes scalars to: a `SummaryWriter` the caller passed (borrowed), or
 * one the hook opens in `outputDir` itself (owned).
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { SummaryWriter } from "../summary/summary-writer.js";

/**
 * A hook's event file. A borrowed writer is flushed at the end and never closed; an owned one
 * is opened by {@link HookSummaryWriter.open} (in the hook's `begin`) and closed by
 * {@link HookSummaryWriter.end}, so a hook used again opens a new file. Internal to the hooks.
 *
 * @example
 * const out = HookSummaryWriter.of({ outputDir: "runs/a" });
 * await out?.open();
 * await out?.addScalars({ "global_step/sec": 12.5 }, 100);
 * await out?.end();
 */
export class HookSummaryWriter {
  #writer: SummaryWriter | null;

  private constructor(
    private readonly outputDir: string | null,
    borrowed: SummaryWriter | null,
  ) {
    this.#writer = borrowed;
  }

  /**
   * The hook's event file: `summaryWriter` when given, else a file in `outputDir`, else null.
   *
   * @param options `summaryWriter` wins over `outputDir`, as in TensorFlow.
   * @example
   * HookSummaryWriter.of({}); // null: the hook writes no summaries
   */
  static of(options: { readonly outputDir?: string | null | undefined; readonly summaryWriter?: SummaryWriter | null | undefined }): HookSummaryWriter | null {
    const borrowed = options.summaryWriter ?? null;
    const dir = options.outputDir ?? null;
    if (borrowed !== null) return new HookSummaryWriter(null, borrowed);
    return dir === null || dir === "" ? null : new HookSummaryWriter(dir, null);
  }

  /**
   * Opens the owned writer unless it is open (a borrowed one is always open).
   *
   * @throws the errors of `SummaryWriter.open`, e.g. when `outputDir` is a file.
   * @example
   * await out.open();
   */
  async open(): Promise<void> {
    if (this.#writer !== null || this.outputDir === null) return;
    // A suffix of its own for every file, as TensorFlow 2 does (`.<pid>.<uid>`): two hooks writing
    // to one directory, or a run started again within the same second, never open the same file.
    this.#writer = await SummaryWriter.open(this.outputDir, { filenameSuffix: `.${process.pid}.${randomBytes(4).toString("hex")}` });
  }

  /**
   * Appends one event with the scalars at `step`, opening the owned writer first if needed.
   *
   * @param scalars tag → value.
   * @param step the global step.
   * @throws the errors of `SummaryWriter.addScalars`.
   * @example
   * await out.addScalars({ loss: 0.25 }, 300);
   */
  async addScalars(scalars: Readonly<Record<string, number>>, step: number): Promise<void> {
    await this.open();
    await this.#writer?.addScalars(scalars, step);
  }

  /**
   * Flushes a borrowed writer; closes and forgets an owned one.
   *
   * @throws the errors of `SummaryWriter.flush` and `close`.
   * @example
   * await out.end();
   */
  async end(): Promise<void> {
    const writer = this.#writer;
    if (writer === null) return;
    if (this.outputDir === null) return writer.flush();
    this.#writer = null;
    await writer.close();
  }
}
