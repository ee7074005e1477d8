// The closing line CI greps: counts of test cases, with errors outside test cases
// counted as failures, and `, N skipped` only when something was skipped.
import { describe, expect, it } from 'vitest';
import type { TestModule } from 'vitest/node';
import { closingLine, countResults } from './setup/closing-line-reporter.ts';

type State = 'passed' | 'failed' | 'skipped' | 'pending';

/** Just the parts of a TestModule the reporter reads. */
function fakeModule(states: State[], moduleState: 'passed' | 'failed' | 'skipped' = states.includes('failed') ? 'failed' : 'passed') {
  const tests = states.map((state) => ({ result: () => ({ state }) }));
  return { state: () => moduleState, children: { allTests: () => tests.values() } } as unknown as TestModule;
}

describe('the closing line', () => {
  it('counts passed and failed test cases', () => {
    const counts = countResults([fakeModule(['passed', 'passed']), fakeModule(['passed', 'failed'])], []);
    expect(closingLine(counts)).toBe('3 passed, 1 failed');
  });

  it('adds skipped ones (skip, todo, never run) only when there are any', () => {
    const counts = countResults([fakeModule(['passed', 'skipped', 'pending'])], []);
    expect(closingLine(counts)).toBe('1 passed, 0 failed, 2 skipped');
  });

  it('counts a file that failed outside its tests, and unhandled errors, as failures', () => {
    const importError = fakeModule([], 'failed');
    const afterAllFailed = fakeModule(['passed'], 'failed');
    const counts = countResults([importError, afterAllFailed], [{ message: 'global setup failed' }]);
    expect(closingLine(counts)).toBe('1 passed, 3 failed');
  });

  it('says 0 passed, 0 failed for an empty run', () => {
    expect(closingLine(countResults([], []))).toBe('0 passed, 0 failed');
  });
});
