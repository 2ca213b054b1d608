import { describe, expect, it } from "vitest";
import { InvalidArgumentError, OutOfRangeError, RuntimeError } from "../errors.js";
import { Coordinator } from "./coordinator.js";
import type { Logger } from "./logger.js";

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => void lines.push(`info: ${m}`), warn: (m) => void lines.push(`warn: ${m}`) };
}

describe("Coordinator stop requests", () => {
  it("says stop once a stop is requested, and not before", () => {
    const coord = new Coordinator();
    expect(coord.shouldStop()).toBe(false);
    coord.requestStop();
    expect(coord.shouldStop()).toBe(true);
  });

  it("records only the first exception: later requests are ignored", () => {
    const coord = new Coordinator();
    const first = new Error("first");
    coord.requestStop(first);
    coord.requestStop(new Error("second"));
    expect(() => coord.raiseRequestedException()).toThrow(first);
  });

  it("records nothing when the first request carried no exception", () => {
    const coord = new Coordinator();
    coord.requestStop();
    coord.requestStop(new Error("late"));
    expect(() => coord.raiseRequestedException()).not.toThrow();
  });

  it("treats OutOfRangeError as a clean stop: it stops but is not raised", async () => {
    const coord = new Coordinator();
    coord.requestStop(new OutOfRangeError("End of sequence"));
    expect(coord.shouldStop()).toBe(true);
    expect(() => coord.raiseRequestedException()).not.toThrow();
    await expect(coord.join()).resolves.toBeUndefined();
  });

  it("takes other clean-stop error types when asked", async () => {
    class Done extends Error {}
    const coord = new Coordinator({ cleanStopExceptionTypes: [Done] });
    coord.requestStop(new Done());
    await expect(coord.join()).resolves.toBeUndefined();
  });

  it("forgets the stop and the exception on clearStop", async () => {
    const coord = new Coordinator();
    coord.requestStop(new Error("boom"));
    coord.clearStop();
    expect(coord.shouldStop()).toBe(false);
    await expect(coord.join()).resolves.toBeUndefined();
  });

  it("wakes waitForStop when a stop is requested, and times out with false otherwise", async () => {
    const coord = new Coordinator();
    expect(await coord.waitForStop(0.01)).toBe(false);
    setTimeout(() => coord.requestStop(), 5);
    expect(await coord.waitForStop()).toBe(true);
    expect(await coord.waitForStop(0)).toBe(true);
    await expect(coord.waitForStop(-1)).rejects.toThrow(InvalidArgumentError);
  });

  it("reports an exception through stopOnException instead of throwing it", async () => {
    const coord = new Coordinator();
    const boom = new Error("boom");
    expect(await coord.stopOnException(() => 5)).toBe(5);
    expect(
      await coord.stopOnException(async () => {
        await sleep(1);
        throw boom;
      }),
    ).toBeUndefined();
    expect(coord.shouldStop()).toBe(true);
    expect(() => coord.raiseRequestedException()).toThrow(boom);
  });
});

describe("Coordinator.join", () => {
  it("waits for every task to finish", async () => {
    const coord = new Coordinator();
    const done: number[] = [];
    const task = (i: number): Promise<void> => sleep(i).then(() => void done.push(i));
    await coord.join([task(3), task(1)]);
    expect(done.sort()).toEqual([1, 3]);
  });

  it("also waits for registered tasks", async () => {
    const coord = new Coordinator();
    let finished = false;
    coord.registerThread(sleep(5).then(() => void (finished = true)));
    await coord.join();
    expect(finished).toBe(true);
  });

  it("re-raises the exception a task reported, after the tasks stopped", async () => {
    const coord = new Coordinator();
    const boom = new Error("boom");
    const failing = coord.stopOnException(async () => {
      await sleep(1);
      throw boom;
    });
    const watching = (async () => {
      while (!coord.shouldStop()) await sleep(1);
    })();
    await expect(coord.join([failing, watching])).rejects.toBe(boom);
    expect(coord.joined).toBe(true);
  });

  it("counts a task that rejects as a stop request with its error", async () => {
    const coord = new Coordinator();
    const boom = new Error("boom");
    await expect(coord.join([Promise.reject(boom)])).rejects.toBe(boom);
    expect(coord.shouldStop()).toBe(true);
  });

  it("raises a RuntimeError naming the tasks still running after the grace period", async () => {
    const coord = new Coordinator();
    const never = new Promise<void>(() => undefined);
    coord.requestStop();
    await expect(coord.join([sleep(1), never], { stopGracePeriodSecs: 0.02 })).rejects.toThrow(RuntimeError);
    coord.clearStop();
    coord.requestStop();
    await expect(coord.join([never], { stopGracePeriodSecs: 0.01 })).rejects.toThrow(
      "Coordinator stopped with threads still running: task 0. Make the tasks return once coord.shouldStop() is true",
    );
  });

  it("only logs the tasks still running when told to ignore live threads", async () => {
    const logger = recordingLogger();
    const coord = new Coordinator({ logger });
    coord.requestStop();
    await coord.join([new Promise(() => undefined)], { stopGracePeriodSecs: 0.01, ignoreLiveThreads: true });
    expect(logger.lines).toEqual(["info: Coordinator stopped with threads still running: task 0."]);
  });

  it("gives stopping tasks their grace period to finish", async () => {
    const coord = new Coordinator();
    const slowToStop = (async () => {
      await coord.waitForStop();
      await sleep(10);
    })();
    setTimeout(() => coord.requestStop(), 1);
    await expect(coord.join([slowToStop], { stopGracePeriodSecs: 5 })).resolves.toBeUndefined();
  });

  it("raises an exception reported after join directly, since nothing else would", async () => {
    const coord = new Coordinator();
    await coord.join([]);
    const late = new Error("late");
    expect(() => coord.requestStop(late)).toThrow(late);
    expect(() => coord.requestStop()).not.toThrow();
  });

  it("refuses a negative grace period", async () => {
    await expect(new Coordinator().join([], { stopGracePeriodSecs: -1 })).rejects.toThrow(
      "join(tasks, { stopGracePeriodSecs }) needs a number ≥ 0; got -1. Pass seconds, e.g. 120.",
    );
  });
});
