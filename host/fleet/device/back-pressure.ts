/**
 * Back-pressure on an authenticated device's websocket, so that a device
 * holding a key (a stolen one, or a broken program) cannot grow the
 * service's memory or time without bound:
 * - reading stops while the answers already queued for it are not being
 *   read (its `bufferedAmount` above a bound), and while too many of its
 *   messages wait for their turn in its work queue; the kernel's receive
 *   window then closes and the device's own writes block;
 * - messages it sends unasked (pings, logs, anything but the answer to
 *   the service's request) are metered by a token bucket; a device beyond
 *   it is closed with a policy code.
 * Per connection the service then holds at most about `maxBufferedBytes`
 * of answers, one socket read (64 KiB) and `maxQueued` messages (270 bytes
 * each).
 */
import type { WebSocket } from "ws"

/** What one device may send and have waiting. */
export interface MessageLimits {
    /** Unasked messages a second, sustained (default 20; the runtime pings every ~4 s). */
    perSecond?: number
    /** Unasked messages at once, above the sustained rate (default 100). */
    burst?: number
    /** Bytes of answers waiting for the device to read before reading stops (default 64 KiB). */
    maxBufferedBytes?: number
    /** Messages waiting in the device's work queue before reading stops (default 64). */
    maxQueued?: number
}

/** A token bucket: `burst` at once, refilled at `perSecond`. */
export class TokenBucket {
    private tokens: number
    private at: number

    constructor(
        readonly perSecond: number,
        readonly burst: number,
        private readonly now: () => number = Date.now
    ) {
        this.tokens = burst
        this.at = now()
    }

    /** Takes one token; false when there is none. */
    take(): boolean {
        const t = this.now()
        this.tokens = Math.min(
            this.burst,
            this.tokens + ((t - this.at) / 1000) * this.perSecond
        )
        this.at = t
        if (this.tokens < 1) return false
        this.tokens -= 1
        return true
    }
}

/** How often a socket paused for its unread answers is looked at again. */
const DRAIN_POLL_MS = 100

/** Flow control of one device's websocket (see the module comment). */
export class InboundFlow {
    private readonly bucket: TokenBucket
    private readonly maxBufferedBytes: number
    private readonly maxQueued: number
    /** Answers the service asked for and has not received yet. */
    private owed = 0
    private queued = 0
    private pausedForOutput?: NodeJS.Timeout
    private pausedForQueue = false

    constructor(
        private readonly ws: WebSocket,
        limits: MessageLimits = {},
        now: () => number = Date.now
    ) {
        this.bucket = new TokenBucket(
            limits.perSecond ?? 20,
            limits.burst ?? 100,
            now
        )
        this.maxBufferedBytes = limits.maxBufferedBytes ?? 64 * 1024
        this.maxQueued = limits.maxQueued ?? 64
        ws.once("close", () => clearInterval(this.pausedForOutput))
    }

    /** The service sent a request: one message in answer is not metered. */
    asked(): void {
        this.owed++
    }

    /**
     * A message arrived: whether it is within the device's rate (an
     * answer to a request always is).
     */
    admit(): boolean {
        if (this.owed > 0) {
            this.owed--
            return true
        }
        return this.bucket.take()
    }

    /** After every send: stops reading while the device does not read its answers. */
    sent(): void {
        if (
            this.pausedForOutput ||
            this.ws.bufferedAmount <= this.maxBufferedBytes
        )
            return
        this.ws.pause()
        this.pausedForOutput = setInterval(() => {
            if (this.ws.bufferedAmount > this.maxBufferedBytes / 2) return
            clearInterval(this.pausedForOutput)
            this.pausedForOutput = undefined
            this.resumeIfFree()
        }, DRAIN_POLL_MS)
    }

    /** A message was queued for work: stops reading beyond `maxQueued`. */
    enqueued(): void {
        if (++this.queued < this.maxQueued || this.pausedForQueue) return
        this.pausedForQueue = true
        this.ws.pause()
    }

    /** A queued message was handled. */
    handled(): void {
        this.queued--
        if (this.pausedForQueue && this.queued <= this.maxQueued / 2) {
            this.pausedForQueue = false
            this.resumeIfFree()
        }
    }

    /** Whether reading is stopped now. */
    get paused(): boolean {
        return !!this.pausedForOutput || this.pausedForQueue
    }

    private resumeIfFree() {
        if (!this.paused) this.ws.resume()
    }
}
