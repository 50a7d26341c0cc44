/**
 * How long the tokens `/auth` issues live: 7 days by default, as today's
 * documents give it (help.aliyun.com 58034); 48 h, what the C SDK's comment
 * and the 2017 document say, as an option. Given in seconds, or on the
 * command line with a unit (`48h`, `7d`). Pure.
 */

/** 7 days, as today's documents give a token. */
export const TOKEN_TTL_7_DAYS = 7 * 24 * 3600
/** 48 hours, as the C SDK's comment and the 2017 document give a token. */
export const TOKEN_TTL_48_HOURS = 48 * 3600
/** The longest lifetime accepted: 10 years (an expiry stays a 13-digit ms time). */
export const MAX_TOKEN_TTL_SECONDS = 10 * 365.25 * 24 * 3600

/** Why a lifetime in seconds is refused (undefined when it is fine). */
export function tokenTtlProblem(name: string, v: unknown): string | undefined {
    if (typeof v !== "number" || !(v >= 0 && v <= MAX_TOKEN_TTL_SECONDS))
        return `${name} must be a number of seconds in 0..${MAX_TOKEN_TTL_SECONDS} (10 years), got ${JSON.stringify(v) ?? String(v)}`
    return undefined
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

/**
 * A lifetime as written on the command line: whole seconds (`172800`) or a
 * whole number with a unit s, m, h or d (`48h`, `7d`); undefined if neither
 * or beyond 10 years.
 */
export function parseTokenTtl(text: string): number | undefined {
    const m = /^(\d+)([smhd]?)$/.exec(text)
    if (!m) return undefined
    const seconds = Number(m[1]) * UNIT_SECONDS[m[2] || "s"]
    return tokenTtlProblem("", seconds) ? undefined : seconds
}
