/**
 * Canary membership decided once per rollout, not per check-in: a
 * percentage covers the first ceil(p % of the fleet) devices in its
 * version's canary order (desired.ts), so a device is a member when its
 * rank is at most the last member's. That rank is worked out from the
 * whole fleet once per rollout, scope and fleet size, and kept; a check-in
 * then costs a count of the devices (the fleet only grows: devices are
 * never removed, so an equal count is an equal fleet) and one hash.
 */
import { canaryRank, type KeptMembership } from "./desired.ts"
import type { FleetStore, Rollout } from "../store/types.ts"

/** The last member's rank of each percentage rollout seen, for one store. */
export class CanaryMembers implements KeptMembership {
    private readonly last = new Map<string, { size: number; rank: string }>()

    /**
     * Whether the percentage rollout `r` covers `deviceId`, read through
     * `tx` (the whole fleet only when the rollout, its scope or the fleet
     * size changed since the last call).
     */
    async covers(
        tx: FleetStore,
        r: Pick<Rollout, "id" | "version"> & { percent: number },
        deviceId: string
    ): Promise<boolean> {
        const key = `${r.id}\0${r.version}\0${r.percent}`
        const size = await tx.deviceCount()
        let known = this.last.get(key)
        if (known?.size !== size) {
            const ids = (await tx.devices()).map(d => d.id)
            known = { size: ids.length, rank: lastMemberRank(r, ids) }
            this.last.set(key, known)
        }
        return canaryRank(r.version, deviceId) <= known.rank
    }
}

/** The rank of the last device a percentage covers ("" when none). */
function lastMemberRank(
    r: { version: string; percent: number },
    ids: string[]
): string {
    const n = Math.ceil(
        (Math.min(100, Math.max(0, r.percent)) * ids.length) / 100
    )
    if (!n) return ""
    const ranks = ids.map(id => canaryRank(r.version, id)).sort()
    return ranks[n - 1]
}
