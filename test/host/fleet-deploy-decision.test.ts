// A session's decisions on the hash its device reports, alone: whether to
// deploy, hold off or stay; whether a deploy succeeded; whether another
// instance deployed in between; the records that start a deploy.
import { test } from "node:test"
import assert from "node:assert/strict"
import {
    decideOnHash,
    decideVerify,
    deployStartWrites,
    sameDeploy,
} from "../../host/fleet/device/deploy-decision.ts"
import type { Desired } from "../../host/fleet/rollout/desired.ts"
import { emptyState } from "../../host/fleet/store/rows.ts"
import type { DeviceState } from "../../host/fleet/store/types.ts"

const A = "a".repeat(64)
const B = "b".repeat(64)
const v2: Desired = { version: "v2", hash: B, rolloutId: 3 }
const state = (patch: Partial<DeviceState> = {}): DeviceState => ({
    ...emptyState("d1"),
    ...patch,
})

test("no version assigned, or the device runs it: the session stays idle", () => {
    for (const desired of [undefined, v2])
        assert.deepEqual(
            decideOnHash({
                reportedHash: desired ? B : A,
                desired,
                state: state(),
                maxFailures: 3,
            }),
            { kind: "stay" }
        )
})

test("another hash than the assigned version's: deploy it", () => {
    assert.deepEqual(
        decideOnHash({
            reportedHash: A,
            desired: v2,
            state: state(),
            maxFailures: 3,
        }),
        { kind: "deploy", want: v2 }
    )
})

test("deploys of that version failed maxFailures times: held off, with the count", () => {
    const failed = state({ lastDeployHash: B, deployFailures: 3 })
    assert.deepEqual(
        decideOnHash({
            reportedHash: A,
            desired: v2,
            state: failed,
            maxFailures: 3,
        }),
        { kind: "hold-off", why: "not trying v2 again after 3 failures" }
    )
    // fewer failures, or failures of another version: deployed again
    for (const s of [
        state({ lastDeployHash: B, deployFailures: 2 }),
        state({ lastDeployHash: A, deployFailures: 9 }),
    ])
        assert.equal(
            decideOnHash({
                reportedHash: A,
                desired: v2,
                state: s,
                maxFailures: 3,
            }).kind,
            "deploy"
        )
})

test("after a deploy, the deployed hash: recorded as ok, failures and error cleared", () => {
    assert.deepEqual(decideVerify(v2, B, 1234), {
        kind: "deployed",
        write: {
            patch: {
                currentHash: B,
                lastDeployResult: "ok",
                lastDeployAt: 1234,
                deployFailures: 0,
                health: "unknown",
                lastError: "",
            },
            event: { kind: "deployed", detail: `v2 (${B.slice(0, 12)})` },
        },
    })
})

test("after a deploy, another hash: a mismatch naming both hashes", () => {
    assert.deepEqual(decideVerify(v2, A, 1234), {
        kind: "mismatch",
        why: `after the deploy the device reports ${A.slice(0, 12)}, not ${B.slice(0, 12)}`,
    })
})

test("a deploy started or ended between two reads is noticed; other changes are not", () => {
    const before = state({
        lastDeployResult: "ok",
        lastDeployHash: A,
        lastDeployAt: 5,
        lastSeen: 1,
    })
    assert.ok(sameDeploy(before, { ...before, lastSeen: 99, connected: true }))
    assert.ok(
        !sameDeploy(before, { ...before, lastDeployResult: "in-progress" })
    )
    assert.ok(!sameDeploy(before, { ...before, lastDeployHash: B }))
    assert.ok(!sameDeploy(before, { ...before, lastDeployAt: 6 }))
})

test("starting a deploy records it in progress, by this instance, with one event", () => {
    assert.deepEqual(
        deployStartWrites({
            before: state({ lastDeployResult: "ok" }),
            want: v2,
            owner: "inst-1",
            startedAt: 77,
            imageBytes: 4096,
            replacingHash: A,
        }),
        [
            {
                patch: {
                    lastDeployResult: "in-progress",
                    lastDeployHash: B,
                    deployBy: "inst-1",
                    lastDeployAt: 77,
                    health: "unknown",
                },
                event: {
                    kind: "deploying",
                    detail: `v2 (4096 bytes) replacing ${A.slice(0, 12)}`,
                },
            },
        ]
    )
})

test("a deploy still in progress from an unheard instance is counted as failed first", () => {
    const writes = deployStartWrites({
        before: state({ lastDeployResult: "in-progress", deployFailures: 1 }),
        want: v2,
        owner: "inst-2",
        startedAt: 78,
        imageBytes: 4096,
        replacingHash: A,
    })
    assert.equal(writes.length, 2)
    assert.deepEqual(writes[0], {
        patch: { lastDeployResult: "failed", deployFailures: 2 },
        event: {
            kind: "deploy-failed",
            detail: "taken over: the instance that ran it went unheard",
        },
    })
    assert.equal(writes[1].patch.lastDeployResult, "in-progress")
    assert.equal(writes[1].patch.deployBy, "inst-2")
})
