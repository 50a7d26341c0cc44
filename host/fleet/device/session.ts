/**
 * One device connection after the websocket upgrade: the runtime's cloud
 * handshake (see protocol.ts), then the hash check, deploy and
 * verification. Nothing about the device is written before it has proved
 * its key; a failed handshake is reported to the service (which counts it
 * in memory) and the connection is closed.
 *
 * Every store call awaits, so a device's frames, timeouts and close are
 * handled as tasks queued per device (`SessionContext.serial`): one at a
 * time and in order, also across an old and a new session of one device.
 * A task checks `closed` after its reads, before it starts anything.
 */
import { randomBytes, type KeyObject } from "node:crypto"
import type { WebSocket } from "ws"
import { type ArtifactStore } from "../release/artifacts.ts"
import type { CheckedSignatures } from "../release/checked-signatures.ts"
import { InboundFlow, type MessageLimits } from "./back-pressure.ts"
import {
    AUTH_BYTES,
    Cmd,
    cmdName,
    DEPLOY_CHUNK,
    DEPLOY_WINDOW,
    encodeHello,
    SecureChannel,
    sessionKey,
} from "./protocol.ts"
import {
    canaryRank,
    desiredAndStateNow,
    desiredNow,
    type Desired,
} from "../rollout/desired.ts"
import {
    decideOnHash,
    decideVerify,
    deployStartWrites,
    sameDeploy,
    type StateWrite,
} from "./deploy-decision.ts"
import type { CanaryMembers } from "../rollout/canary-members.ts"
import { markBroken, refuseArtifact, type EventSink } from "../rollout/guard.ts"
import { verifyRelease } from "../release/signing.ts"
import type { DeviceRecord, DeviceState, FleetStore } from "../store/types.ts"
import type { WriteBatch } from "./write-batch.ts"

/** Websocket close codes the service uses (RFC 6455 section 7.4.1). */
export const CloseCode = {
    Normal: 1000,
    GoingAway: 1001,
    Unsupported: 1003,
    Policy: 1008,
    TooBig: 1009,
    ServerError: 1011,
    TryAgainLater: 1013,
} as const

/** What came of asking for a deploy slot (see service/deploy-slots.ts). */
export type SlotOutcome = "granted" | "elsewhere" | "busy"

/**
 * The leases a session takes: one deploy per device across the instances,
 * and at most so many deploys at once across them.
 */
export interface DeployLeases {
    /** This instance's owner id. */
    readonly owner: string
    /**
     * Takes or renews `deploy:<deviceId>` for this instance; false when
     * another holds it. Through `tx` inside a transaction.
     */
    deploy(deviceId: string, tx?: FleetStore): Promise<boolean>
    /**
     * Gives `deploy:<deviceId>` up; with `holder`, only while it is still
     * the slot `take` granted to `holder`.
     */
    releaseDeploy(
        deviceId: string,
        tx?: FleetStore,
        holder?: object
    ): Promise<void>
    /**
     * Keeps `deploy:<deviceId>` during a deploy: false when another
     * instance has it now. Renewed in the store at most every quarter of
     * its TTL (it cannot have expired meanwhile), and always when `last`.
     */
    keep(deviceId: string, last: boolean): Promise<boolean>
    /**
     * Takes a deploy slot and `deploy:<deviceId>` to start a deploy:
     * "elsewhere" when another instance holds the lease, "busy" when every
     * slot is taken (the device comes back later). `rank` orders devices
     * that wait for a slot (its rollout's canary order). A slot granted is
     * `holder`'s until released.
     */
    take(
        deviceId: string,
        rank: string,
        ended: () => boolean,
        holder?: object
    ): Promise<SlotOutcome>
}

/** What a session needs from the service. */
export interface SessionContext {
    store: FleetStore
    /** This instance's owner id, deploy leases and slots (the service's DeploySlots). */
    leases: DeployLeases
    artifacts: ArtifactStore
    /** Release signatures checked once for the deploys that follow. */
    checkedSignatures: CheckedSignatures
    /** Canary membership, kept once per rollout (one per store). */
    members: CanaryMembers
    /** Public key release signatures must check against. */
    releaseKey: KeyObject
    now: () => number
    holdMs: number
    stepTimeoutMs: number
    /** An authenticated device that sends nothing this long is closed. */
    idleTimeoutMs: number
    maxFailures: number
    autoStop: boolean
    log: (line: string) => void
    event: EventSink
    /** The device proved its key (the session is now the device's). */
    authenticated(s: Session): void
    /** What a device may send unasked, and have waiting (back-pressure.ts). */
    messageLimits?: MessageLimits
    /** The device went beyond its message rate and is being closed (logged once). */
    overRate(s: Session, why: string): void
    /** The peer failed the handshake; nothing was written about the device. */
    handshakeFailed(s: Session, reason: string): void
    /** The connection ended (after `authenticated`, or not). */
    ended(s: Session, reason: string): void
    /**
     * Queues a task of device `deviceId`: tasks of one device run one at a
     * time, in order (see service/keyed-queue.ts).
     */
    serial(deviceId: string, task: () => Promise<void>): void
}

/** A connection's messages update the device's `lastSeen` at most this often. */
const LAST_SEEN_EVERY_MS = 1000

type Step =
    "auth" | "hash" | "slot" | "start" | "write" | "finish" | "verify" | "idle"

/** A device connection, from the hello to its close. */
export class Session {
    step: Step = "auth"
    private readonly channel: SecureChannel
    private readonly flow: InboundFlow
    /** The deploy running: what, and when it started (its `lastDeployAt`). */
    private target?: Desired & { image: Buffer; startedAt: number }
    /** Bytes of the image sent so far. */
    private offset = 0
    /** DeployWrites sent and not answered yet (at most DEPLOY_WINDOW). */
    private inFlight = 0
    /** Answers still due to a deploy that ended before they came: ignored. */
    private staleAnswers = 0
    private timer?: NodeJS.Timeout
    private holdTimer?: NodeJS.Timeout
    private idleTimer?: NodeJS.Timeout
    /** Counts `arm` calls: a step timeout queued before a later arm is stale. */
    private armed = 0
    private rechecking = false
    private closed = false
    /** The code the service closed the session with (undefined: the device ended it). */
    closedWith?: number
    /** When this session last wrote the device's `lastSeen`. */
    private lastSeenWritten = 0

    constructor(
        private readonly ctx: SessionContext,
        readonly device: DeviceRecord,
        readonly ws: WebSocket,
        /** Holds the writes of a turn on the socket under `ws` (write-batch.ts). */
        private readonly batch: WriteBatch,
        clientNonce: Buffer,
        /** The peer's address, for logs. */
        readonly peer: string
    ) {
        const seed = randomBytes(16)
        this.channel = new SecureChannel(
            sessionKey(Buffer.from(device.key, "hex"), clientNonce, seed),
            "server"
        )
        this.flow = new InboundFlow(ws, ctx.messageLimits, ctx.now)
        ws.on("message", (data, isBinary) =>
            this.onFrame(data as Buffer, isBinary)
        )
        ws.on("close", (code, reason) =>
            this.onClose(`closed (${code}${reason.length ? " " + reason : ""})`)
        )
        ws.on("error", () => {}) // ws closes the connection itself; the service logs it
        ws.send(encodeHello(seed))
    }

    get authenticatedYet(): boolean {
        return this.step !== "auth"
    }

    /** Whether the session has ended. */
    get ended(): boolean {
        return this.closed
    }

    /**
     * Closes with a code and reason and ends the session at once (the
     * server's `closeTimeout` ends the socket when the peer does not answer).
     */
    close(code: number = CloseCode.Normal, reason = "") {
        if (!this.closed) this.closedWith = code
        // the session ends now, and its records are queued before the peer
        // can see the close frame
        this.onClose(
            `closed by the service (${code}${reason ? " " + reason : ""})`
        )
        if (this.ws.readyState < 2) this.ws.close(code, reason)
    }

    /** Queues a task of this device; an error closes the session. */
    private work(task: () => Promise<void>) {
        this.ctx.serial(this.device.id, async () => {
            try {
                await task()
            } catch (e) {
                this.ctx.log(
                    `${this.device.id}: ${(e as Error).stack ?? String(e)}`
                )
                this.close(CloseCode.ServerError, "internal error")
            }
        })
    }

    private send(cmd: number, payload: Buffer = Buffer.alloc(0)) {
        this.ws.send(
            this.channel.seal(Buffer.concat([Buffer.from([cmd]), payload]))
        )
        // everything but the echo of a ping asks for an answer
        if (cmd !== Cmd.PingCloud) this.flow.asked()
        this.flow.sent()
    }

    /** While idle and held: check again when the assignment changed. */
    recheck() {
        if (this.step !== "idle" || this.closed || this.rechecking) return
        this.rechecking = true
        this.work(async () => {
            try {
                await this.recheckNow()
            } finally {
                this.rechecking = false
            }
        })
    }

    private async recheckNow() {
        if (this.step !== "idle" || this.closed) return
        const { store } = this.ctx
        const want = await desiredNow(store, this.device.id, {
            members: this.ctx.members,
        })
        const st = await store.state(this.device.id)
        if (this.step !== "idle" || this.closed) return
        if (!want || want.hash === st.currentHash) return
        if (
            st.lastDeployHash === want.hash &&
            (st.lastDeployResult === "refused" ||
                st.deployFailures >= this.ctx.maxFailures)
        )
            return
        clearTimeout(this.holdTimer)
        this.send(Cmd.GetHash)
        this.arm("hash")
    }

    /** Waits for the next device answer of this step, with a timeout. */
    private arm(step: Step) {
        if (this.closed) return
        this.step = step
        const armed = ++this.armed
        clearTimeout(this.timer)
        clearTimeout(this.holdTimer)
        if (step === "idle") {
            this.holdTimer = setTimeout(() => this.close(), this.ctx.holdMs)
            return
        }
        // no answer is due while it waits for a slot (DeploySlots bounds the wait)
        if (step === "slot") return
        this.timer = setTimeout(
            () =>
                this.work(async () => {
                    if (armed !== this.armed || this.closed) return
                    await this.fail(
                        `no answer to ${step} within ${this.ctx.stepTimeoutMs} ms`
                    )
                }),
            this.ctx.stepTimeoutMs
        )
    }

    private touchIdle() {
        clearTimeout(this.idleTimer)
        this.idleTimer = setTimeout(() => {
            this.ctx.log(
                `${this.device.id}: nothing heard for ${this.ctx.idleTimeoutMs} ms: closing`
            )
            this.close(CloseCode.GoingAway, "idle")
        }, this.ctx.idleTimeoutMs)
    }

    private onFrame(raw: Buffer, isBinary: boolean) {
        if (this.closed) return
        if (!isBinary) {
            if (this.step === "auth")
                this.ctx.handshakeFailed(this, "text message")
            this.close(CloseCode.Unsupported, "binary messages only")
            return
        }
        if (this.step === "auth") return this.onAuth(raw)
        if (!this.flow.admit()) {
            const { perSecond = 20, burst = 100 } = this.ctx.messageLimits ?? {}
            this.ctx.overRate(
                this,
                `more than ${perSecond} messages a second (burst ${burst}): closed (${CloseCode.Policy})`
            )
            this.close(CloseCode.Policy, "too many messages")
            return
        }
        this.touchIdle()
        this.flow.enqueued()
        this.work(() => this.onMessage(raw).finally(() => this.flow.handled()))
    }

    private onAuth(raw: Buffer) {
        const msg = this.channel.open(raw)
        if (!msg || msg.length !== AUTH_BYTES || msg.some(b => b !== 0)) {
            this.ctx.handshakeFailed(this, "wrong key")
            this.close(CloseCode.Policy, "authentication failed")
            return
        }
        this.step = "hash"
        // closes an older session of the device: its records queue first
        this.ctx.authenticated(this)
        // the proof and the hash request leave in one write
        this.batch.hold()
        this.ws.send(this.channel.seal(Buffer.alloc(AUTH_BYTES)))
        const id = this.device.id
        this.lastSeenWritten = this.ctx.now()
        // one write, no transaction and no event: a check-in is routine
        // (connections.ts)
        this.work(async () => {
            await this.ctx.store.updateState(id, {
                connected: true,
                connectedTo: this.ctx.leases.owner,
                lastSeen: this.lastSeenWritten,
            })
        })
        this.touchIdle()
        this.send(Cmd.GetHash)
        this.arm("hash")
    }

    private async onMessage(raw: Buffer) {
        if (this.closed) return
        const { store, now } = this.ctx
        const id = this.device.id
        const msg = this.channel.open(raw)
        if (!msg) {
            await this.fail("message with a bad tag")
            this.close(CloseCode.Policy, "bad message")
            return
        }
        // at most once a second: every deploy answer was a database commit
        if (now() - this.lastSeenWritten >= LAST_SEEN_EVERY_MS) {
            this.lastSeenWritten = now()
            await store.updateState(id, { lastSeen: this.lastSeenWritten })
        }
        const cmd = msg[0]
        const payload = msg.subarray(1)
        if (this.staleAnswers > 0 && isDeployAnswer(cmd)) {
            this.staleAnswers--
            return
        }
        switch (cmd) {
            case Cmd.PingCloud:
                this.send(Cmd.PingCloud, payload)
                return
            case Cmd.Dmesg:
                return
            case Cmd.ExceptionReport: {
                const text = payload.toString("utf8").slice(-400)
                await store.atomically(async tx => {
                    await tx.updateState(id, {
                        lastException: text,
                        lastExceptionAt: now(),
                    })
                    await markBroken(
                        tx,
                        this.ctx.event,
                        id,
                        "crashed",
                        text.split("\n").find(l => l.trim()) ?? "",
                        { autoStop: this.ctx.autoStop, now: now() }
                    )
                })
                return
            }
            case Cmd.Error:
                if (this.step === "write" && this.inFlight > 0) this.inFlight--
                await this.fail(`device refused ${this.step}`)
                return
            case Cmd.GetHash:
                if (this.step === "hash" || this.step === "verify")
                    await this.onHash(payload)
                return
            case Cmd.DeployStart:
            case Cmd.DeployWrite:
                if (this.step === "write") {
                    // an answer to no write: the window does not grow
                    if (this.inFlight === 0) return
                    this.inFlight--
                } else if (this.step !== "start") return
                if (await this.keepLease(false)) this.writeNext()
                return
            case Cmd.DeployFinish:
                if (this.step === "finish" && (await this.keepLease(true))) {
                    this.send(Cmd.GetHash)
                    this.arm("verify")
                }
                return
            default:
                this.ctx.log(`${id}: ignored ${cmdName(cmd)}`)
        }
    }

    private async onHash(payload: Buffer) {
        if (payload.length < 32) return this.fail("short hash")
        const hash = payload.subarray(0, 32).toString("hex")
        if (this.step === "verify") return this.onDeployedHash(hash)
        const { store } = this.ctx
        const id = this.device.id
        const now = await desiredAndStateNow(store, id, {
            members: this.ctx.members,
        })
        const { desired } = now
        // written only when it changed: a steady check-in reports the same
        const state =
            now.state.currentHash === hash
                ? now.state
                : await store.updateState(id, { currentHash: hash })
        const decision = decideOnHash({
            reportedHash: hash,
            desired,
            state,
            maxFailures: this.ctx.maxFailures,
        })
        if (decision.kind === "deploy")
            return this.startDeploy(decision.want, hash, state)
        if (decision.kind === "hold-off") this.ctx.log(`${id}: ${decision.why}`)
        this.arm("idle")
    }

    /** The hash after a deploy: the deploy ends here (a close from now on does not fail it). */
    private async onDeployedHash(hash: string) {
        const { store, now } = this.ctx
        const id = this.device.id
        const t = this.target!
        this.target = undefined
        const outcome = decideVerify(t, hash, now())
        if (outcome.kind === "deployed")
            await store.atomically(tx => this.record(tx, [outcome.write]), {
                device: id,
            })
        else {
            await store.updateState(id, { currentHash: hash })
            await this.fail(outcome.why, true, t.startedAt)
        }
        await this.ctx.leases.releaseDeploy(id)
        this.arm("idle")
    }

    /**
     * The I/O of a deploy of `want`, in order: the checked image, a deploy
     * slot with the device's deploy lease (one deploy per device, and at
     * most so many at once, across the instances that share the store;
     * with no slot free the device is told to come back), a last look that
     * no deploy started or ended since `seen` was read (else the device is
     * asked for its hash again), the records, then DeployStart. The wait
     * for a slot is not one of the device's tasks: its pings and reports
     * are answered meanwhile. A session that ends meanwhile stops at the
     * next step: nothing is recorded for it, and a lease it took is given
     * back.
     */
    private async startDeploy(
        want: Desired,
        reportedHash: string,
        seen: DeviceState
    ) {
        if (this.closed) return
        const image = await this.checkedImage(want)
        if (!image) return this.arm("idle")
        if (this.closed) return
        this.arm("slot")
        const armed = this.armed
        const id = this.device.id
        this.ctx.leases
            .take(
                id,
                canaryRank(want.version, id),
                () => this.closed || this.armed !== armed,
                this
            )
            .then(
                slot =>
                    this.work(() =>
                        this.onSlot(
                            slot,
                            armed,
                            want,
                            image,
                            reportedHash,
                            seen
                        )
                    ),
                (e: unknown) => this.work(() => Promise.reject(e))
            )
    }

    /** What came of the wait for a slot, as one of the device's tasks. */
    private async onSlot(
        slot: SlotOutcome,
        armed: number,
        want: Desired,
        image: Buffer,
        reportedHash: string,
        seen: DeviceState
    ) {
        const { store, now, leases } = this.ctx
        const id = this.device.id
        // the session ended, or the device failed a step, while it waited
        const gone = () => this.closed || this.armed !== armed
        // the wait ran outside the device's tasks: a newer session of it may
        // have taken the slot since, and keeps it
        const ended = async (holdsLease: boolean) => {
            if (gone() && holdsLease)
                await leases.releaseDeploy(id, undefined, this)
            return gone()
        }
        if (slot === "elsewhere") {
            if (gone()) return
            this.ctx.log(
                `${id}: another instance deploys to it now: closing (it reconnects later)`
            )
            this.close(CloseCode.Normal, "deploy in progress elsewhere")
            return
        }
        if (slot === "busy") {
            // nothing recorded: it keeps its place and comes back
            if (gone()) return
            this.ctx.log(`${id}: every deploy slot is taken: come back later`)
            this.close(CloseCode.Normal, "deploy slots busy, come back later")
            return
        }
        if (await ended(true)) return
        const fresh = await store.state(id)
        if (await ended(true)) return
        if (!sameDeploy(seen, fresh)) {
            // another instance deployed to it since it told its hash: ask again
            await leases.releaseDeploy(id)
            if (await ended(false)) return
            this.send(Cmd.GetHash)
            return this.arm("hash")
        }
        const startedAt = now()
        this.target = { ...want, image, startedAt }
        this.offset = 0
        this.inFlight = 0
        await store.atomically(
            async tx =>
                this.record(
                    tx,
                    deployStartWrites({
                        before: await tx.state(id),
                        want,
                        owner: leases.owner,
                        startedAt,
                        imageBytes: image.length,
                        replacingHash: reportedHash,
                    })
                ),
            { device: id }
        )
        const size = Buffer.alloc(4)
        size.writeUInt32LE(image.length, 0)
        this.send(Cmd.DeployStart, size)
        this.arm("start")
    }

    /** Applies `writes` to the device's state and event log, in order. */
    private async record(tx: FleetStore, writes: StateWrite[]) {
        const id = this.device.id
        for (const w of writes) {
            await tx.updateState(id, w.patch)
            await this.ctx.event(tx, id, w.event.kind, w.event.detail)
        }
    }

    private async checkedImage(want: Desired): Promise<Buffer | undefined> {
        const { store, now } = this.ctx
        const v = await store.versionByName(want.version)
        try {
            // read and hashed at every deploy: a file damaged in storage is refused
            const image = await this.ctx.artifacts.getShared(want.hash, store)
            const signature = v?.signature ?? ""
            this.ctx.checkedSignatures.check(want.hash, signature, () =>
                verifyRelease(image, signature, this.ctx.releaseKey)
            )
            return image
        } catch (e) {
            await refuseArtifact(
                store,
                this.ctx.event,
                this.device.id,
                want,
                (e as Error).message,
                { autoStop: this.ctx.autoStop, now: now() }
            )
            return undefined
        }
    }

    /**
     * Fills the deploy window: DeployWrites until DEPLOY_WINDOW are
     * unanswered or the image is sent; DeployFinish once every write is
     * answered. The writes of one turn leave in one socket write.
     */
    private writeNext() {
        const img = this.target!.image
        if (this.offset >= img.length && this.inFlight === 0) {
            this.send(Cmd.DeployFinish)
            this.arm("finish")
            return
        }
        this.batch.hold()
        while (this.offset < img.length && this.inFlight < DEPLOY_WINDOW) {
            const chunk = img.subarray(this.offset, this.offset + DEPLOY_CHUNK)
            this.offset += chunk.length
            this.inFlight++
            this.send(Cmd.DeployWrite, chunk)
        }
        this.arm("write")
    }

    /**
     * Renews the deploy lease at a step of the deploy; when another
     * instance has taken it over (this one went unheard past its TTL), the
     * deploy is given up and the session closed.
     */
    private async keepLease(last: boolean): Promise<boolean> {
        if (await this.ctx.leases.keep(this.device.id, last)) return true
        await this.fail("the deploy lease went to another instance")
        this.close(CloseCode.Normal, "deploy taken over")
        return false
    }

    /**
     * Records an error; with `deploying` (default: a deploy runs) a failed
     * deploy, when the record is still this deploy's and this instance
     * still holds its lease (else the device is another instance's now:
     * only the event is recorded), and gives the lease up.
     */
    private async fail(
        why: string,
        deploying = this.target !== undefined,
        startedAt = this.target?.startedAt
    ) {
        const { store, now, leases } = this.ctx
        const id = this.device.id
        this.target = undefined
        // the writes still unanswered are answered later, or refused
        this.staleAnswers += this.inFlight
        this.inFlight = 0
        this.arm("idle")
        await store.atomically(
            async tx => {
                const st = await tx.state(id)
                const mine =
                    !deploying ||
                    ((startedAt === undefined ||
                        (st.lastDeployResult === "in-progress" &&
                            st.lastDeployAt === startedAt)) &&
                        (await leases.deploy(id, tx)))
                if (!mine)
                    // another instance deploys to the device now: its record stays
                    return this.ctx.event(tx, id, "error", why)
                await tx.updateState(id, {
                    lastError: why,
                    lastErrorAt: now(),
                    ...(deploying
                        ? {
                              lastDeployResult: "failed" as const,
                              deployFailures: st.deployFailures + 1,
                          }
                        : {}),
                })
                await this.ctx.event(
                    tx,
                    id,
                    deploying ? "deploy-failed" : "error",
                    why
                )
            },
            { device: id }
        )
        if (deploying) await leases.releaseDeploy(id)
    }

    private onClose(reason: string) {
        if (this.closed) return
        this.closed = true
        clearTimeout(this.timer)
        clearTimeout(this.holdTimer)
        clearTimeout(this.idleTimer)
        if (this.target) {
            const why = `connection ended during the deploy (${reason})`
            const { startedAt } = this.target
            this.work(() => this.fail(why, true, startedAt))
        }
        this.ctx.ended(this, reason)
    }
}

/** An answer to a step of a deploy (a refusal included). */
function isDeployAnswer(cmd: number): boolean {
    return (
        cmd === Cmd.Error ||
        cmd === Cmd.DeployStart ||
        cmd === Cmd.DeployWrite ||
        cmd === Cmd.DeployFinish
    )
}
