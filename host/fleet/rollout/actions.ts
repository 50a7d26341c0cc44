/**
 * The operations on rollouts: assign a version to a scope, widen, stop and
 * roll back. Each runs as one transaction, so service instances that share
 * a store never disagree (which version a device then gets: desired.ts).
 */
import type { FleetStore, Rollout, Scope } from "../store/types.ts"
import { desiredNow } from "./desired.ts"

/** Assigns a published version to a scope: a new active rollout. */
export function assign(
    store: FleetStore,
    version: string,
    scope: Scope,
    now = Date.now()
): Promise<Rollout> {
    return store.atomically(async tx => {
        if (!(await tx.versionByName(version)))
            throw new RangeError(`no published version ${version}`)
        if (scope.kind === "device" && !(await tx.device(scope.value)))
            throw new RangeError(`no device ${scope.value}`)
        if (
            scope.kind === "group" &&
            !(await tx.devices()).some(d => d.groups.includes(scope.value))
        )
            throw new RangeError(`no device is in group ${scope.value}`)
        return tx.addRollout({
            version,
            scope,
            status: "active",
            createdAt: now,
            updatedAt: now,
            reason: "",
        })
    })
}

/** The newest rollout that is not rolled back (optionally only active ones). */
export function latestRollout(
    rollouts: Rollout[],
    activeOnly = false
): Rollout | undefined {
    const rs = rollouts.filter(
        r =>
            r.status !== "rolled-back" && (!activeOnly || r.status === "active")
    )
    return rs[rs.length - 1]
}

async function pick(tx: FleetStore, id?: number): Promise<Rollout> {
    const rollouts = await tx.rollouts()
    const r =
        id === undefined
            ? latestRollout(rollouts)
            : rollouts.find(x => x.id === id)
    if (!r)
        throw new RangeError(
            id === undefined ? "no rollout" : `no rollout ${id}`
        )
    return r
}

/** Widens a percentage rollout (and restarts it if it was stopped). */
export function widen(
    store: FleetStore,
    percent: number,
    id?: number,
    now = Date.now()
): Promise<Rollout> {
    return store.atomically(async tx => {
        const r = await pick(tx, id)
        if (r.scope.kind !== "percent")
            throw new RangeError(`rollout ${r.id} is not a percentage`)
        if (!(percent > r.scope.value && percent <= 100))
            throw new RangeError(
                `widen: ${r.scope.value}% < new percentage <= 100`
            )
        return tx.updateRollout(r.id, {
            scope: { kind: "percent", value: percent },
            status: "active",
            reason: "",
            updatedAt: now,
        })
    })
}

/** Stops a rollout: no further device gets it; devices that run it keep it. */
export function stop(
    store: FleetStore,
    reason: string,
    id?: number,
    now = Date.now()
): Promise<Rollout> {
    return store.atomically(async tx => {
        const r = await pick(tx, id)
        return tx.updateRollout(r.id, {
            status: "stopped",
            reason,
            updatedAt: now,
        })
    })
}

/**
 * Rolls back: without `deviceId` the rollout (default: the newest) counts
 * for nothing any more, so the devices it covered return to what the older
 * rollouts say; with `deviceId` only that device returns to the version it
 * would run without its current rollout.
 */
export function rollback(
    store: FleetStore,
    opts: { id?: number; deviceId?: string } = {},
    now = Date.now()
): Promise<{ rollout: Rollout; to?: string }> {
    return store.atomically(async tx => {
        if (opts.deviceId) {
            const cur = await desiredNow(tx, opts.deviceId)
            if (!cur) throw new RangeError(`no rollout covers ${opts.deviceId}`)
            const prev = await desiredNow(tx, opts.deviceId, {
                exclude: cur.rolloutId,
            })
            if (!prev)
                throw new RangeError(
                    `${opts.deviceId}: no earlier version to return to`
                )
            const rollout = await tx.addRollout({
                version: prev.version,
                scope: { kind: "device", value: opts.deviceId },
                status: "active",
                createdAt: now,
                updatedAt: now,
                reason: `rollback from ${cur.version}`,
            })
            return { rollout, to: prev.version }
        }
        const r = await pick(tx, opts.id)
        const rollout = await tx.updateRollout(r.id, {
            status: "rolled-back",
            reason: "rolled back",
            updatedAt: now,
        })
        return { rollout }
    })
}
