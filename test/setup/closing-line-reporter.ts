// CI reads one plain closing line, `N passed, N failed` (plus `, N skipped` when
// any were skipped), rather than vitest's own coloured summary. It counts test
// cases. Errors that belong to no test case count as failures too, so the line
// never says "0 failed" about a run that failed:
// - a file that failed outside its tests (an import error, a failing beforeAll or
//   afterAll) counts 1, unless some of its tests already failed;
// - each unhandled error (including a failing global setup) counts 1.
import type { Reporter, SerializedError, TestModule, TestRunEndReason } from 'vitest/node';

export interface ClosingCounts {
  passed: number;
  failed: number;
  skipped: number;
}

export function countResults(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): ClosingCounts {
  const counts: ClosingCounts = { passed: 0, failed: 0, skipped: 0 };
  for (const module of testModules) {
    let failedHere = 0;
    for (const test of module.children.allTests()) {
      const state = test.result().state;
      if (state === 'passed') counts.passed += 1;
      else if (state === 'failed') failedHere += 1;
      else counts.skipped += 1; // 'skipped' (skip, todo, filtered) or 'pending' (never ran: bail, interrupted)
    }
    counts.failed += failedHere > 0 ? failedHere : module.state() === 'failed' ? 1 : 0;
  }
  counts.failed += unhandledErrors.length;
  return counts;
}

export function closingLine({ passed, failed, skipped }: ClosingCounts): string {
  return `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`;
}

export default class ClosingLineReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError>,
    _reason: TestRunEndReason,
  ): void {
    process.stdout.write(`\n${closingLine(countResults(testModules, unhandledErrors))}\n`);
  }
}
