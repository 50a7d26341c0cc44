/**
 * How `npm test` counts a firmware test run in the VM: a file's summary, a
 * run with no clean summary, and a shared VM group that crashes, which
 * fails the run even when its files pass one at a time afterwards.
 */
import { test } from "node:test"
import assert from "node:assert/strict"
import {
    crashedGroupOutcome,
    ranClean,
    vmRunOutcome,
} from "../../host/testkit/vm-run-outcome.ts"

const A = "test/device/a.test.ts"
const B = "test/device/b.test.ts"
const GROUP = `${A} + ${B}`

test("a clean run counts its summary; failed tests name the run", () => {
    assert.deepEqual(vmRunOutcome(A, 0, { pass: 7, error: 0 }), {
        passed: 7,
        failed: 0,
        failures: [],
    })
    // the exit code of failed tests is still a clean summary
    assert.deepEqual(vmRunOutcome(GROUP, 1, { pass: 5, error: 2 }), {
        passed: 5,
        failed: 2,
        failures: [GROUP],
    })
})

test("a run without a clean summary is a failure", () => {
    assert.equal(ranClean(0, undefined), false)
    assert.equal(ranClean(3, { pass: 4, error: 0 }), false)
    assert.deepEqual(vmRunOutcome(A, 101, undefined), {
        passed: 0,
        failed: 1,
        failures: [`${A} (exit 101, no clean summary)`],
    })
    // a crash after a summary of passes: the passes count, the crash fails
    assert.deepEqual(vmRunOutcome(A, 3, { pass: 4, error: 0 }), {
        passed: 4,
        failed: 1,
        failures: [`${A} (exit 3, no clean summary)`],
    })
})

test("a crashed group fails even when each of its files passes alone", () => {
    const alone = [
        { name: A, outcome: vmRunOutcome(A, 0, { pass: 3, error: 0 }) },
        { name: B, outcome: vmRunOutcome(B, 0, { pass: 4, error: 0 }) },
    ]
    const out = crashedGroupOutcome(GROUP, 101, alone)
    assert.equal(out.failed, 1)
    assert.equal(out.passed, 7)
    assert.equal(out.failures.length, 1)
    assert.match(
        out.failures[0],
        /^test\/device\/a\.test\.ts \+ test\/device\/b\.test\.ts \(exit 101, no clean summary; one by one: each file passes alone/
    )
    assert.match(out.diagnosis, /share the heap/)
})

test("a crashed group names the files that fail alone too", () => {
    const alone = [
        { name: A, outcome: vmRunOutcome(A, 0, { pass: 3, error: 0 }) },
        { name: B, outcome: vmRunOutcome(B, 101, undefined) },
    ]
    const out = crashedGroupOutcome(GROUP, 101, alone)
    assert.equal(out.failed, 2)
    assert.equal(out.passed, 3)
    assert.deepEqual(out.failures, [
        `${GROUP} (exit 101, no clean summary; one by one: failing alone too: ${B} (1 failed))`,
        `${B} (exit 101, no clean summary)`,
    ])
})
