import { HttpClient } from "../http/client"
import { HttpError, HttpResponse } from "../http/response"
import { jsonString, checkBodySize, bodySize, topicPath } from "../payload"
import { WallClock } from "../time"
import { classify, codeName, Outcome } from "./codes"
import { AnswerReader, PlatformResult } from "./answer"
import { AuthParams, signAuthParams, SignMethod } from "./sign"
import { renewalTime, shortToken, tokenExpiry } from "./token"
import { SavedToken, TokenStore } from "./token-store"

/** Who the device is and how it signs. */
export interface DeviceIdentity {
    productKey: string
    deviceName: string
    deviceSecret: string
    clientId: string
    signMethod: SignMethod
}

/** A failed channel call and what to do about it. */
export class ChannelError extends Error {
    constructor(
        /** `retry` (wait and try again) or `fatal` (this request cannot succeed) */
        readonly outcome: Outcome,
        message: string,
        /** which call failed */
        readonly stage: "auth" | "publish",
        /** platform code, when the platform answered one */
        readonly code?: number
    ) {
        super(message)
        this.name = "ChannelError"
    }
}

/** How long a failed renewal waits before the next one is tried. */
export const RENEW_RETRY_MS = 60000

/**
 * The platform's HTTPS device channel: `POST /auth` signed on the device,
 * the token kept in flash and reused, and `POST /topic/...` with one
 * re-authentication and resend when the platform says the token is
 * expired, missing or unknown (20001, 20002, 20003). A token that states
 * its expiry (the JWT form) is renewed ahead of it.
 */
export class ChannelClient {
    private token: SavedToken
    /** the current token's renewal time (epoch ms), NaN for none */
    private renewAt = NaN

    constructor(
        readonly device: DeviceIdentity,
        readonly http: HttpClient,
        readonly tokens: TokenStore,
        readonly clock: WallClock
    ) {}

    /** Authenticates now, whatever token is stored, and keeps the new token. */
    async authenticate() {
        const d = this.device
        const params: AuthParams = {
            productKey: d.productKey,
            deviceName: d.deviceName,
            clientId: d.clientId,
        }
        if (this.clock.synced()) params.timestamp = "" + this.clock.now()
        const sign = await signAuthParams(params, d.deviceSecret, d.signMethod)
        let body = `{"version":"default","clientId":${jsonString(d.clientId)},"signmethod":"${d.signMethod}","sign":"${sign}","productKey":${jsonString(d.productKey)},"deviceName":${jsonString(d.deviceName)}`
        if (params.timestamp) body += `,"timestamp":"${params.timestamp}"`
        body += "}"
        const r = await this.exchange("/auth", body, {
            "Content-Type": "application/json",
        })
        if (!r.token)
            throw new ChannelError(
                "retry",
                "auth: success without a token",
                "auth"
            )
        // the answer's Date has just set the clock
        const at = this.clock.synced() ? this.clock.now() : NaN
        await this.tokens.save(r.token, at)
        this.use({ token: r.token, issuedAt: at })
        const renew = isNaN(this.renewAt)
            ? ""
            : `, renewed in ${Math.round((this.renewAt - at) / 1000)} s`
        console.log(`auth: ok, token ${shortToken(r.token)}${renew}`)
    }

    private use(t: SavedToken) {
        this.token = t
        this.renewAt = renewalTime(t.issuedAt, tokenExpiry(t.token))
    }

    /** Makes sure a token is at hand: the one in flash, or a new one. */
    async ensureToken() {
        if (!this.token) {
            const stored = await this.tokens.load()
            if (stored) this.use(stored)
        }
        if (!this.token) await this.authenticate()
    }

    /**
     * Authenticates ahead of the token's stated expiry. A failure keeps the
     * current token (still valid) and tries again {@link RENEW_RETRY_MS}
     * later.
     */
    private async renewIfDue() {
        if (!(this.renewAt > 0) || !this.clock.synced()) return
        const now = this.clock.now()
        if (now < this.renewAt) return
        console.log(
            `auth: token ${shortToken(this.token.token)} is due for renewal`
        )
        try {
            await this.authenticate()
        } catch (e) {
            this.renewAt = now + RENEW_RETRY_MS
            console.warn(
                `auth: renewal failed (${(e as Error).message}); keeping the current token`
            )
        }
    }

    /**
     * Publishes `body` to `topic` and returns the platform's messageId (its
     * exact digits). Uses the stored token, or authenticates first. Throws
     * ChannelError; a refused topic or an oversized body is refused locally
     * as `fatal` before anything is sent.
     */
    async publish(topic: string, body: string | Buffer): Promise<string> {
        let path: string
        try {
            path = topicPath(topic)
            checkBodySize(bodySize(body))
        } catch (e) {
            throw new ChannelError("fatal", (e as Error).message, "publish")
        }
        await this.ensureToken()
        await this.renewIfDue()
        for (let attempt = 0; ; attempt++) {
            try {
                const r = await this.exchange(path, body, {
                    password: this.token.token,
                    "Content-Type": "application/octet-stream",
                })
                return r.messageId || ""
            } catch (e) {
                if (
                    e instanceof ChannelError &&
                    (e as ChannelError).outcome === "reauth" &&
                    attempt === 0
                ) {
                    console.log(`publish: ${e.message}; authenticating again`)
                    await this.authenticate()
                    continue
                }
                throw e
            }
        }
    }

    /** Nothing more to send for now (the HTTP client may let go of the socket). */
    async idle() {
        await this.http.idle()
    }

    /**
     * One request; the answer read as it streams in (the reader keeps none
     * of what it skips), classified, and the clock synced from `Date`.
     */
    private async exchange(
        path: string,
        body: string | Buffer,
        headers: Record<string, string>
    ): Promise<PlatformResult> {
        const stage = path === "/auth" ? "auth" : "publish"
        const reader = new AnswerReader()
        let res: HttpResponse
        try {
            res = await this.http.request({
                method: "POST",
                path,
                headers,
                body,
                onBody: (chunk, off, len) => reader.push(chunk, off, len),
            })
        } catch (e) {
            const msg = e instanceof HttpError ? e.message : "" + e
            throw new ChannelError("retry", `${stage}: ${msg}`, stage)
        }
        const date = res.headers["date"]
        if (date) this.clock.syncFromDate(date, this.http.lastResponseMillis)
        let r: PlatformResult
        try {
            r = reader.end()
        } catch (e) {
            // not a platform answer (a proxy's error page, garbage): the
            // request itself may be fine, so keep it and try again later
            const why = (e as Error).message
            throw new ChannelError(
                "retry",
                `${stage}: HTTP ${res.status}: ${why}`,
                stage
            )
        }
        let outcome = classify(res.status, r.code)
        if (outcome === "ok") return r
        // a token complaint in answer to /auth itself: try again later
        if (outcome === "reauth" && stage === "auth") outcome = "retry"
        const detail = r.message ? ` (${r.message})` : ""
        throw new ChannelError(
            outcome,
            `${stage}: ${r.code} ${codeName(r.code)}${detail}`,
            stage,
            r.code
        )
    }
}
