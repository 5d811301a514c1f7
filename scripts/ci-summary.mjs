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
  const errored = report.testResults.filter(
    (result) => result.status === 'failed' && result.assertionResults.every((test) => test.status !== 'failed'),
  );
  const erroredFiles = errored.length;
  let reportFailures = report.numFailedTests + erroredFiles;
  if (!report.success && reportFailures === 0) reportFailures = 1; // e.g. no test files, or an unhandled error
  passed += report.numPassedTests;
  failed += reportFailures;
  console.log(
    `${file}: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests} skipped` +
      (erroredFiles ? `, ${erroredFiles} files errored` : '') +
      (report.success ? '' : ' (not a success)'),
  );
  // Name each errored file and why: the summary is often all of a CI log that survives.
  for (const result of errored) {
    const why = String(result.message ?? '')
      .split('\n')
      .slice(0, 3)
      .join(' | ')
      .slice(0, 400);
    console.log(`  errored: ${path.relative(process.cwd(), result.name)}: ${why || '(no message)'}`);
  }
  for (const result of report.testResults) {
    for (const test of result.assertionResults.filter((t) => t.status === 'failed')) {
      console.log(`  failed: ${path.relative(process.cwd(), result.name)} > ${test.fullName}`);
    }
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
