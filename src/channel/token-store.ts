import { digest } from "@devicescript/crypto"
import { deleteSetting } from "@devicescript/settings"
import { MAX_SETTING_BYTES, writeSettingChecked } from "../config"
import { readSettingBounded } from "../settings-read"
import { MAX_TOKEN_LENGTH, tokenProblem } from "./token"

/** Settings key of the token record (whose token it is, its generation and parts). */
export const TOKEN_KEY = "AUTH_TOKEN"
/** Most parts a token is split into (512 characters that all need escaping). */
export const MAX_TOKEN_PARTS = 6

/** Settings key of part `i` (0-based): `AUTH_TOKEN_1` ... `AUTH_TOKEN_6`. */
export function tokenPartKey(i: number): string {
    return `${TOKEN_KEY}_${i + 1}`
}

/** A token and when it was received (epoch ms; NaN when unknown). */
export interface SavedToken {
    token: string
    issuedAt: number
}

/**
 * The record under {@link TOKEN_KEY}: `id` is a fingerprint of the identity
 * the token was issued to, `g` the generation that every part carries,
 * `n` the number of parts, `len` the token's length, `at` its issue time.
 */
interface TokenRecord {
    id: string
    g: number
    n: number
    len: number
    at?: number
}

/** A token of an older firmware: `{id: "PK/DN@host", token}` in one setting. */
interface LegacyRecord {
    id: string
    token: string
}

/**
 * Splits `token` into parts whose settings (key, `"<g>:<part>"` as JSON)
 * each fit the runtime's {@link MAX_SETTING_BYTES}; `"` and `\` count twice
 * (JSON escapes them). Pure.
 */
export function splitToken(token: string, generation: number): string[] {
    const budget =
        MAX_SETTING_BYTES -
        tokenPartKey(0).length -
        1 -
        2 -
        `${generation}:`.length
    const parts: string[] = []
    let start = 0
    let size = 0
    for (let i = 0; i < token.length; i++) {
        const c = token.charCodeAt(i)
        const cost = c === 34 || c === 92 ? 2 : 1
        if (size + cost > budget) {
            parts.push(token.slice(start, i))
            start = i
            size = 0
        }
        size += cost
    }
    parts.push(token.slice(start))
    return parts
}

function isCount(v: any, max: number): boolean {
    return typeof v === "number" && v >= 1 && v <= max && Math.floor(v) === v
}

/**
 * The platform token in flash settings, so that a reboot does not cost an
 * authentication. A token of any accepted length (up to 512 characters)
 * is split over several settings, since one setting holds at most 232
 * bytes. The parts are written first, each tagged with a new generation,
 * and the record naming that generation last: a power cut in between
 * leaves parts that do not match the record, so a token assembled from
 * two generations is never used (the device authenticates again). Flash
 * is written only when the token changes.
 */
export class TokenStore {
    private current: SavedToken = null
    private readonly id: string

    /** @param identity `productKey/deviceName@host` of this device */
    constructor(readonly identity: string) {
        // a fingerprint: an identity can be longer than a setting holds
        this.id = digest("sha256", identity).slice(0, 16).toString("hex")
    }

    /** The stored token for this identity, or undefined. */
    async load(): Promise<SavedToken> {
        if (this.current) return this.current
        const rec: any = await readSettingBounded(TOKEN_KEY, null)
        if (!rec || typeof rec !== "object") return undefined
        let found: SavedToken = undefined
        if (typeof rec.token === "string") {
            const old = rec as LegacyRecord
            if (old.id === this.identity && !tokenProblem(old.token))
                found = { token: old.token, issuedAt: NaN }
        } else found = await this.assemble(rec as TokenRecord)
        if (found) this.current = found
        return found
    }

    /** The token the record's parts make, or undefined when they do not match it. */
    private async assemble(rec: TokenRecord): Promise<SavedToken> {
        if (
            rec.id !== this.id ||
            !isCount(rec.g, 0x7fffffff) ||
            !isCount(rec.n, MAX_TOKEN_PARTS) ||
            !isCount(rec.len, MAX_TOKEN_LENGTH)
        )
            return undefined
        const tag = `${rec.g}:`
        let token = ""
        for (let i = 0; i < rec.n; i++) {
            const part: any = await readSettingBounded(tokenPartKey(i), null)
            if (typeof part !== "string" || !part.startsWith(tag))
                return undefined // torn write: another generation
            token += part.slice(tag.length)
        }
        if (token.length !== rec.len || tokenProblem(token)) return undefined
        const at = rec.at
        return { token, issuedAt: typeof at === "number" && at > 0 ? at : NaN }
    }

    /**
     * Keeps `token`, received at `issuedAt`; writes flash only when the
     * token changed. Throws RangeError for a token that {@link tokenProblem}
     * refuses.
     */
    async save(token: string, issuedAt: number) {
        const why = tokenProblem(token)
        if (why) throw new RangeError(why)
        const cur = this.current
        if (cur && cur.token === token) {
            cur.issuedAt = issuedAt
            return
        }
        this.current = { token, issuedAt }
        const old: any = await readSettingBounded(TOKEN_KEY, null)
        const oldParts = old && isCount(old.n, MAX_TOKEN_PARTS) ? old.n : 0
        const g = old && isCount(old.g, 0x7ffffffe) ? old.g + 1 : 1
        const parts = splitToken(token, g)
        for (let i = 0; i < parts.length; i++)
            await writeSettingChecked(tokenPartKey(i), `${g}:${parts[i]}`)
        const rec: TokenRecord = {
            id: this.id,
            g,
            n: parts.length,
            len: token.length,
        }
        if (issuedAt > 0) rec.at = issuedAt
        await writeSettingChecked(TOKEN_KEY, rec)
        for (let i = parts.length; i < oldParts; i++)
            await deleteSetting(tokenPartKey(i))
    }
}
