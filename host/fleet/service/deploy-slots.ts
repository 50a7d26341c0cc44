/**
 * Bounded deploys: at most `max` devices are deployed to at once, across
 * every instance that shares the store. A deploy holds its device's deploy
 * lease (leases.ts), so the running deploys are the deploy leases that hold;
 * a new one is taken only in a transaction that counts them first (the
 * store serialises its transactions, across instances too).
 *
 * Within the bound, each instance paces its own deploys by its load
 * (deploy-pace.ts), so check-ins keep their turn.
 *
 * A device that finds every slot taken waits here a little (`waitMs`), in
 * the order of its rollout (the canary order: the devices a percentage
 * covers come first), for a slot that this instance frees or sees free;
 * then it is told to come back. Its state is not touched: it keeps its
 * place in the rollout and gets the next slot free when it is there.
 */
import { deployLease, type InstanceLeases } from "./leases.ts"
import { defaultPace, nextDeployLimit, type PaceLimits } from "./deploy-pace.ts"
import type { Load } from "./load-gauge.ts"
import type { DeployLeases, SlotOutcome } from "../device/session.ts"
import type { FleetStore } from "../store/types.ts"

/**
 * The default bound on deploys at once (fleet-wide). From the fleet bench:
 * a deploy of the 69 KB firmware is about 363 messages and costs the
 * service about 27 ms of CPU, some 75 us a message; a check-in's message
 * may wait behind one message of each running deploy, so 64 deploys add
 * at most about 5 ms to each of its 4-5 steps. A deploy takes 363 round
 * trips, so over a network with 50 ms of round trip 64 slots give about
 * 3.5 deploys a second; raise it for slow links, lower it for a small CPU.
 */
export const DEFAULT_MAX_DEPLOYS = 64
/** The default wait of a device that found every slot taken. */
export const DEFAULT_DEPLOY_WAIT_MS = 2000
/** How often waiting devices look for a slot another instance freed. */
const POLL_MS = 250

/** How an instance paces its deploys: its load, and the limits. */
export interface DeployPace {
    /** The service's load since the last call (load-gauge.ts). */
    load: () => Load
    limits?: PaceLimits
    /** How often the pace is set (default 1 s). */
    stepMs?: number
}

interface Waiter {
    deviceId: string
    holder?: object
    rank: string
    ended: () => boolean
    resolve: (o: SlotOutcome) => void
    timer: NodeJS.Timeout
    /** A try for it runs now (its timeout waits for the answer). */
    trying: boolean
    expired: boolean
}

/** The deploy slots of one instance (the bound itself is the fleet's). */
export class DeploySlots implements DeployLeases {
    /** Waiting devices, in rollout order. */
    private readonly waiting: Waiter[] = []
    private poll?: NodeJS.Timeout
    private pumping = false
    private closed = false
    /** When this instance last took or renewed each deploy lease it holds. */
    private readonly renewed = new Map<string, number>()
    /** Who each slot taken here was granted to (see `take`). */
    private readonly holders = new Map<string, object>()
    /** Deploys this instance lets run at once now (the pace; at most `max`). */
    private limit: number
    /** Tries for a slot under way here (each may become a running deploy). */
    private triesUnderWay = 0
    private paceTimer?: NodeJS.Timeout

    constructor(
        private readonly store: FleetStore,
        private readonly leases: InstanceLeases,
        /** Deploys at once, fleet-wide; 0: no bound. */
        readonly max: number,
        private readonly waitMs: number,
        private readonly now: () => number,
        private readonly log: (line: string) => void = () => {},
        pace?: DeployPace
    ) {
        this.limit = max
        if (pace && max) {
            const limits = pace.limits ?? defaultPace(max)
            // from the fewest up, while the service keeps up
            this.limit = limits.min
            this.paceTimer = setInterval(
                () => this.setPace(pace.load(), limits),
                pace.stepMs ?? 1000
            )
            this.paceTimer.unref()
        }
    }

    /** Deploys this instance lets run at once now. */
    get pace(): number {
        return this.limit
    }

    /**
     * Deploys running on this instance: leases it took or renewed within
     * their TTL (a running deploy renews every quarter of it; one whose
     * end was never recorded stops counting when its lease lapses).
     */
    private runningHere(): number {
        const since = this.now() - this.leases.deployMs
        let n = 0
        for (const [id, at] of this.renewed)
            if (at > since) n++
            else this.renewed.delete(id)
        return n
    }

    private setPace(load: Load, limits: PaceLimits) {
        const before = this.limit
        this.limit = nextDeployLimit(before, load, this.runningHere(), limits)
        if (this.limit < before)
            this.log(
                `deploys at once here: ${before} -> ${this.limit} (the event loop ran ${Math.round(load.lagMs)} ms late, ${Math.round(load.busy * 100)} % of a core busy)`
            )
        else if (this.limit > before && this.waiting.length) void this.pump()
    }

    get owner(): string {
        return this.leases.owner
    }

    async deploy(deviceId: string, tx?: FleetStore): Promise<boolean> {
        const t = this.now()
        const ok = await this.leases.deploy(deviceId, tx)
        if (ok) this.renewed.set(deviceId, t)
        else this.renewed.delete(deviceId)
        return ok
    }

    /**
     * Gives the slot and deploy lease of `deviceId` up; with `holder`, only
     * while they are still the ones granted to it (a newer session of the
     * device may have taken them since).
     */
    async releaseDeploy(
        deviceId: string,
        tx?: FleetStore,
        holder?: object
    ): Promise<void> {
        if (holder && this.holders.get(deviceId) !== holder) return
        this.holders.delete(deviceId)
        this.renewed.delete(deviceId)
        await this.leases.releaseDeploy(deviceId, tx)
        if (this.waiting.length) void this.pump()
    }

    /**
     * Renews the deploy lease of a running deploy, in the store only when
     * a quarter of its TTL passed since (each 192-byte chunk a device
     * acknowledged was a database write); always when `last`.
     */
    keep(deviceId: string, last: boolean): Promise<boolean> {
        const at = this.renewed.get(deviceId)
        if (
            !last &&
            at !== undefined &&
            this.now() - at < this.leases.deployMs / 4
        )
            return Promise.resolve(true)
        return this.deploy(deviceId)
    }

    /**
     * Takes a deploy slot and the device's deploy lease: "granted";
     * "elsewhere" when another instance holds its lease; "busy" when every
     * slot stayed taken for `waitMs` (or devices ahead of it in its
     * rollout's order, `rank`, wait here already and took what freed).
     * A slot granted is `holder`'s until released (see `releaseDeploy`).
     */
    async take(
        deviceId: string,
        rank: string,
        ended: () => boolean,
        holder?: object
    ): Promise<SlotOutcome> {
        if (!this.max)
            return this.granted(deviceId, holder, await this.deploy(deviceId))
        if (!this.waiting.length) {
            const first = await this.tryTake(deviceId, holder)
            if (first !== "busy" || this.waitMs <= 0 || this.closed)
                return first
        }
        this.log(`${deviceId}: waiting for a deploy slot`)
        return new Promise<SlotOutcome>(resolve => {
            const w: Waiter = {
                deviceId,
                holder,
                rank,
                ended,
                resolve,
                trying: false,
                expired: false,
                timer: setTimeout(() => {
                    if (w.trying) w.expired = true
                    else this.leave(w, "busy")
                }, this.waitMs),
            }
            const at = this.waiting.findIndex(x => x.rank > rank)
            this.waiting.splice(at < 0 ? this.waiting.length : at, 0, w)
            this.poll ??= setInterval(() => void this.pump(), POLL_MS)
            void this.pump()
        })
    }

    /** Tells every waiting device to come back (the service stops). */
    close() {
        this.closed = true
        clearInterval(this.paceTimer)
        for (const w of [...this.waiting]) this.leave(w, "busy")
    }

    /** One try, in one transaction: a slot free, then the device's lease. */
    private async tryTake(
        deviceId: string,
        holder?: object
    ): Promise<SlotOutcome> {
        // the tries under way count: devices that ask together do not all
        // pass the pace before the first of them is granted
        if (this.runningHere() + this.triesUnderWay >= this.limit) return "busy"
        this.triesUnderWay++
        try {
            return await this.tryTakeNow(deviceId, holder)
        } finally {
            this.triesUnderWay--
        }
    }

    private tryTakeNow(
        deviceId: string,
        holder?: object
    ): Promise<SlotOutcome> {
        return this.store.atomically(
            async tx => {
                const running = await tx.countLeases(
                    deployLease(""),
                    this.now(),
                    deployLease(deviceId)
                )
                if (running >= this.max) return "busy"
                return this.granted(
                    deviceId,
                    holder,
                    await this.deploy(deviceId, tx)
                )
            },
            { deploySlots: true }
        )
    }

    private granted(
        deviceId: string,
        holder: object | undefined,
        took: boolean
    ): SlotOutcome {
        if (!took) return "elsewhere"
        if (holder) this.holders.set(deviceId, holder)
        else this.holders.delete(deviceId)
        return "granted"
    }

    /** Gives free slots to the waiting devices, first in order first. */
    private async pump() {
        if (this.pumping) return
        this.pumping = true
        try {
            while (this.waiting.length && !this.closed) {
                const w = this.waiting[0]
                if (w.ended()) {
                    this.leave(w, "busy")
                    continue
                }
                w.trying = true
                const got = await this.tryTake(w.deviceId, w.holder).finally(
                    () => (w.trying = false)
                )
                if (got !== "busy") this.leave(w, got)
                else {
                    if (w.expired) this.leave(w, "busy")
                    break
                }
            }
        } catch {
            // a store error: the waiting devices try again at the next poll
        } finally {
            this.pumping = false
        }
    }

    private leave(w: Waiter, outcome: SlotOutcome) {
        clearTimeout(w.timer)
        const i = this.waiting.indexOf(w)
        if (i >= 0) this.waiting.splice(i, 1)
        if (!this.waiting.length) {
            clearInterval(this.poll)
            this.poll = undefined
        }
        w.resolve(outcome)
    }
}
