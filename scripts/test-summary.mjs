#!/usr/bin/env node
// Prints the one line CI reads, `N passed, N failed[, N skipped]`, from vitest's JSON report.
// A test file that failed to load has no failed test inside it, so it counts as one failure.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'test-results/vitest.json';
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (err) {
  console.log(`test report ${file} unreadable: ${err.message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
let failedFiles = 0;
for (const suite of report.testResults ?? []) {
  const failedInside = (suite.assertionResults ?? []).some((a) => a.status === 'failed');
  if (suite.status === 'failed' && !failedInside) failedFiles++;
}
const passed = report.numPassedTests ?? 0;
const failed = (report.numFailedTests ?? 0) + failedFiles;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || report.success === false ? 1 : 0);
