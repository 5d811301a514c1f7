// .ci/run's verdict: reads every vitest JSON report in a folder and prints "N passed, N failed".
// The reports decide, whatever a runner's exit status said: a failed test, a test file that errored
// (failed to load, or an error outside any test) or a report that is not a success counts as a
// failure, as does each failed CI step (lint, typecheck, ...). Exits 1 on any failure.
//
//   node scripts/ci-summary.mjs REPORTS_DIR FAILED_STEPS
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const [dir, failedSteps = '0'] = process.argv.slice(2);
let passed = 0;
let failed = Number(failedSteps);
for (const file of readdirSync(dir).sort()) {
  const report = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
  const erroredFiles = report.testResults.filter(
    (result) => result.status === 'failed' && result.assertionResults.every((test) => test.status !== 'failed'),
  ).length;
  let reportFailures = report.numFailedTests + erroredFiles;
  if (!report.success && reportFailures === 0) reportFailures = 1; // e.g. no test files, or an unhandled error
  passed += report.numPassedTests;
  failed += reportFailures;
  console.log(
    `${file}: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests} skipped` +
      (erroredFiles ? `, ${erroredFiles} files errored` : '') +
      (report.success ? '' : ' (not a success)'),
  );
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
