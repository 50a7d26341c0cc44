/**
 * What a session does with the program hash its device reports, decided
 * from plain data: the device's state, the version it should run
 * ({@link desiredFor}) and the reported hash. session.ts does the I/O these
 * decisions call for (the store, the lease, the socket) and nothing else.
 */
import type { Desired } from "../rollout/desired.ts"
import type { DeviceState } from "../store/types.ts"

/** What to do once the device has reported its hash outside a deploy. */
export type HashDecision =
    /** No version is assigned to it, or it runs that version already. */
    | { kind: "stay" }
    /** Its deploys of that version failed too often: not tried again. */
    | { kind: "hold-off"; why: string }
    /** Deploy `want` to it. */
    | { kind: "deploy"; want: Desired }

/**
 * The decision on a reported hash: deploy the desired version when the
 * device runs another, unless its deploys of exactly that version failed
 * `maxFailures` times in a row.
 */
export function decideOnHash(o: {
    reportedHash: string
    desired: Desired | undefined
    state: DeviceState
    maxFailures: number
}): HashDecision {
    const want = o.desired
    if (!want || want.hash === o.reportedHash) return { kind: "stay" }
    if (
        o.state.lastDeployHash === want.hash &&
        o.state.deployFailures >= o.maxFailures
    )
        return {
            kind: "hold-off",
            why: `not trying ${want.version} again after ${o.state.deployFailures} failures`,
        }
    return { kind: "deploy", want }
}

/** A change to a device's state and the event row that goes with it. */
export interface StateWrite {
    patch: Partial<Omit<DeviceState, "id">>
    event: { kind: string; detail: string }
}

/** The outcome of a deploy, from the hash the device reports after it. */
export type VerifyDecision =
    { kind: "deployed"; write: StateWrite } | { kind: "mismatch"; why: string }

/** Whether the device now runs `target` (the deploy succeeded), at `now`. */
export function decideVerify(
    target: Pick<Desired, "version" | "hash">,
    reportedHash: string,
    now: number
): VerifyDecision {
    if (reportedHash !== target.hash)
        return {
            kind: "mismatch",
            why: `after the deploy the device reports ${reportedHash.slice(0, 12)}, not ${target.hash.slice(0, 12)}`,
        }
    return {
        kind: "deployed",
        write: {
            patch: {
                currentHash: reportedHash,
                lastDeployResult: "ok",
                lastDeployAt: now,
                deployFailures: 0,
                health: "unknown",
                lastError: "",
            },
            event: {
                kind: "deployed",
                detail: `${target.version} (${target.hash.slice(0, 12)})`,
            },
        },
    }
}

/**
 * Whether no deploy started or ended for the device between two reads of
 * its state (another instance that shares the store may have deployed).
 */
export function sameDeploy(before: DeviceState, now: DeviceState): boolean {
    return deployMark(before) === deployMark(now)
}

function deployMark(st: DeviceState): string {
    return `${st.lastDeployResult} ${st.lastDeployHash} ${st.lastDeployAt}`
}

/**
 * The writes that start a deploy of `want` by instance `owner`, in order.
 * A deploy still recorded as in progress is another instance's that went
 * unheard (its lease was free): it is counted as failed first.
 */
export function deployStartWrites(o: {
    before: DeviceState
    want: Desired
    owner: string
    startedAt: number
    imageBytes: number
    replacingHash: string
}): StateWrite[] {
    const writes: StateWrite[] = []
    if (o.before.lastDeployResult === "in-progress")
        writes.push({
            patch: {
                lastDeployResult: "failed",
                deployFailures: o.before.deployFailures + 1,
            },
            event: {
                kind: "deploy-failed",
                detail: "taken over: the instance that ran it went unheard",
            },
        })
    writes.push({
        patch: {
            lastDeployResult: "in-progress",
            lastDeployHash: o.want.hash,
            deployBy: o.owner,
            lastDeployAt: o.startedAt,
            health: "unknown",
        },
        event: {
            kind: "deploying",
            detail: `${o.want.version} (${o.imageBytes} bytes) replacing ${o.replacingHash.slice(0, 12)}`,
        },
    })
    return writes
}
