import { describe, expect, it } from "vitest";
import { ValueError } from "../../errors.js";
import { SecondOrStepTimer } from "./second-or-step-timer.js";

/** A clock the test moves by hand, in seconds. */
function fakeClock(start = 0): { now: () => number; advance: (secs: number) => void } {
  let t = start;
  return { now: () => t, advance: (secs) => void (t += secs) };
}

describe("SecondOrStepTimer", () => {
  it("raises when both everySecs and everySteps are given", () => {
    const make = (): SecondOrStepTimer => new SecondOrStepTimer({ everySecs: 2.0, everySteps: 10 });
    expect(make).toThrow(ValueError);
    expect(make).toThrow("Can not provide both everySecs and everySteps. Pass only one of everySecs and everySteps.");
  });

  it("raises when neither every_secs nor every_steps is given (null and undefined count as absent)", () => {
    const make = (): SecondOrStepTimer => new SecondOrStepTimer({ everySecs: null, everySteps: undefined });
    expect(make).toThrow(ValueError);
    expect(make).toThrow(/^Either everySecs or everySteps should be provided\. Pass everySecs or everySteps/);
  });

  it("refuses a non-integer or non-positive every_steps and a negative every_secs", () => {
    expect(() => new SecondOrStepTimer({ everySteps: 0 })).toThrow("SecondOrStepTimer({ everySteps }) needs an integer ≥ 1; got 0.");
    expect(() => new SecondOrStepTimer({ everySecs: -1 })).toThrow("SecondOrStepTimer({ everySecs }) needs a finite number ≥ 0; got -1.");
  });

  it("every_steps=3: triggers at 1; after an update at 1, not at 1, 2, 3 but at 4", () => {
    const timer = new SecondOrStepTimer({ everySteps: 3 });
    expect(timer.shouldTriggerForStep(1)).toBe(true);
    timer.updateLastTriggeredStep(1);
    expect(timer.shouldTriggerForStep(1)).toBe(false);
    expect(timer.shouldTriggerForStep(2)).toBe(false);
    expect(timer.shouldTriggerForStep(3)).toBe(false);
    expect(timer.shouldTriggerForStep(4)).toBe(true);
  });

  it("every_secs=1: triggers first; after an update, only at another step once a second passed", () => {
    const clock = fakeClock(100);
    const timer = new SecondOrStepTimer({ everySecs: 1.0 }, clock.now);
    expect(timer.shouldTriggerForStep(1)).toBe(true);
    timer.updateLastTriggeredStep(1);
    expect(timer.shouldTriggerForStep(1)).toBe(false);
    expect(timer.shouldTriggerForStep(2)).toBe(false);
    clock.advance(0.999);
    expect(timer.shouldTriggerForStep(2)).toBe(false);
    clock.advance(0.001);
    expect(timer.shouldTriggerForStep(1)).toBe(false);
    expect(timer.shouldTriggerForStep(2)).toBe(true);
  });

  it("updates at 1, 5, 7 return (null, null), (>0, 4), (>0, 2)", () => {
    const clock = fakeClock();
    const timer = new SecondOrStepTimer({ everySteps: 1 }, clock.now);
    expect(timer.updateLastTriggeredStep(1)).toEqual([null, null]);
    clock.advance(0.5);
    const [secs5, steps5] = timer.updateLastTriggeredStep(5);
    expect(secs5).toBeGreaterThan(0);
    expect(steps5).toBe(4);
    clock.advance(0.25);
    expect(timer.updateLastTriggeredStep(7)).toEqual([0.25, 2]);
  });

  it("measures elapsed time with the system clock by default", () => {
    const timer = new SecondOrStepTimer({ everySteps: 1 });
    timer.updateLastTriggeredStep(1);
    const [secs] = timer.updateLastTriggeredStep(2);
    expect(secs).toBeGreaterThanOrEqual(0);
  });

  it("reports the last triggered step and forgets it on reset", () => {
    const timer = new SecondOrStepTimer({ everySteps: 10 });
    expect(timer.lastTriggeredStep()).toBeNull();
    timer.updateLastTriggeredStep(3);
    expect(timer.lastTriggeredStep()).toBe(3);
    expect(timer.shouldTriggerForStep(4)).toBe(false);
    timer.resetLastTriggeredStep();
    expect(timer.lastTriggeredStep()).toBeNull();
    expect(timer.shouldTriggerForStep(4)).toBe(true);
    expect(timer.updateLastTriggeredStep(4)).toEqual([null, null]);
  });
});
