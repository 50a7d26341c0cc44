/**
 * Device tokens: issued by `/auth`, checked on every publish. A token is a
 * random 32-hex-digit string valid for `ttlMs`; expired tokens are
 * remembered so that they answer 20001 rather than 20003. A new token does
 * not revoke the device's earlier ones.
 */
import { randomBytes } from "node:crypto"

export type TokenCheck =
    | { status: "ok"; productKey: string; deviceName: string }
    | { status: "expired"; productKey: string; deviceName: string }
    | { status: "unknown" }

interface Entry {
    productKey: string
    deviceName: string
    expiresAt: number
}

export class TokenStore {
    private tokens = new Map<string, Entry>()

    constructor(public ttlMs: number) {}

    /** Issues a new token for the device at `now`. */
    issue(productKey: string, deviceName: string, now: number): string {
        const token = randomBytes(16).toString("hex")
        this.tokens.set(token, {
            productKey,
            deviceName,
            expiresAt: now + this.ttlMs,
        })
        return token
    }

    /** What a token presented at `now` is worth (valid while now < expiry). */
    check(token: string, now: number): TokenCheck {
        const e = this.tokens.get(token)
        if (!e) return { status: "unknown" }
        const { productKey, deviceName } = e
        return now < e.expiresAt
            ? { status: "ok", productKey, deviceName }
            : { status: "expired", productKey, deviceName }
    }

    /** Expires every live token of the device now; returns how many. */
    expireDevice(productKey: string, deviceName: string, now: number) {
        let n = 0
        for (const e of this.tokens.values())
            if (
                e.productKey === productKey &&
                e.deviceName === deviceName &&
                e.expiresAt > now
            ) {
                e.expiresAt = now
                n++
            }
        return n
    }

    /** Forgets every token. */
    clear() {
        this.tokens.clear()
    }
}
