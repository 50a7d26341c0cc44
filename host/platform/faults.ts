/**
 * Fault injection for the client's resilience tests: which faults are
 * switched on, parsing of the admin/library input that switches them, and
 * picking (and counting down) the fault that hits a request. Pure: the
 * channel server carries the faults out.
 */

import { MESSAGES } from "./codes.ts"
import { MAX_ANSWER_DATA_BYTES, type DataPlacement } from "./answer-data.ts"

/** Which requests a fault hits. */
export type FaultScope = "any" | "auth" | "topic"

/** A fault that hits the next `count` matching requests, or all of them. */
export interface FaultRule {
    count: number | "always"
    on: FaultScope
}

/** Faults that replace the answer; the request is NOT processed. */
export const PRE_FAULTS = [
    "stall",
    "closeBeforeResponse",
    "httpError",
    "malformedJson",
    "forceCode",
] as const
/** Faults that alter how the real answer is sent; the request IS processed. */
export const POST_FAULTS = ["closeMidResponse", "chunked"] as const
export type RuleFault =
    (typeof PRE_FAULTS)[number] | (typeof POST_FAULTS)[number]

/** The fault switches in force (what `GET /faults` shows). */
export interface Faults {
    /** milliseconds added before every channel answer (0: none) */
    latencyMs: number
    /** accept the request, never answer */
    stall?: FaultRule
    /** close the connection once the request is read, without any answer */
    closeBeforeResponse?: FaultRule
    /** send the status line, headers and half the body, then close */
    closeMidResponse?: FaultRule
    /** answer with this HTTP status and an HTML body */
    httpError?: FaultRule & { status: number }
    /** answer 200 with a truncated, unparsable JSON body */
    malformedJson?: FaultRule
    /** answer this platform code (e.g. 10000, 20004) without processing */
    forceCode?: FaultRule & { code: number }
    /** send the real answer chunked, without Content-Length */
    chunked?: FaultRule
    /** answer 30001 to the next N otherwise valid publishes ("always": all) */
    publishError?: number | "always"
    /** connections are refused until this time (ms since the epoch) */
    outageUntil?: number
    /** every accepted publish answer carries `info.Data` of this many bytes */
    answerData?: { bytes: number; at: DataPlacement }
}

/**
 * What `POST /faults` / `setFaults()` accept; every field optional and merged
 * into the current faults; `null`, `false` or `0` switches one off.
 * A rule fault takes `N` (the next N requests), `true` (every request until
 * switched off) or `{count?: N | "always", on?: "any"|"auth"|"topic"}`
 * (`count` defaults to "always"). `httpError` takes a status (500, 502,
 * 503: every request) or `{status, count?, on?}`; `forceCode` takes
 * `{code, count?, on?}` (any error code of the spec's tables). `outageMs` starts an
 * outage of that length now.
 */
export interface FaultsInput {
    latencyMs?: number | null
    stall?: RuleInput
    closeBeforeResponse?: RuleInput
    closeMidResponse?: RuleInput
    httpError?:
        | number
        | null
        | false
        | { status: number; count?: number | "always"; on?: FaultScope }
    malformedJson?: RuleInput
    forceCode?:
        | null
        | false
        | { code: number; count?: number | "always"; on?: FaultScope }
    chunked?: RuleInput
    publishError?: number | boolean | "always" | null
    outageMs?: number | null
    /** N bytes of Data after messageId, or `{bytes, at: "before"|"after"}` */
    answerData?: number | null | false | { bytes: number; at?: DataPlacement }
}
type RuleInput =
    | number
    | boolean
    | null
    | { count?: number | "always" | true; on?: FaultScope }

/**
 * The longest a Node timer can wait: 2^31-1 ms (about 24.8 days). A longer
 * delay would fire after 1 ms, so longer durations are refused.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** Why a duration in ms is refused (undefined when a timer can hold it). */
export function durationProblem(name: string, v: unknown): string | undefined {
    if (typeof v !== "number" || !(v >= 0 && v <= MAX_TIMER_MS))
        return `${name} must be a number of ms in 0..${MAX_TIMER_MS} (about 24.8 days, the longest a Node timer can wait), got ${JSON.stringify(v) ?? String(v)}`
    return undefined
}

/** The statuses `httpError` may take. */
export const HTTP_ERROR_STATUSES = [500, 502, 503]

function bad(msg: string): never {
    throw new FaultInputError(msg)
}

/** Thrown for a fault input that makes no sense (admin answers 400). */
export class FaultInputError extends Error {}

function isCount(n: unknown): n is number {
    return typeof n === "number" && Number.isInteger(n) && n >= 0
}

function parseRule(name: string, v: RuleInput): FaultRule | undefined {
    if (v === null || v === false || v === 0) return undefined
    if (v === true) return { count: "always", on: "any" }
    if (isCount(v)) return { count: v, on: "any" }
    if (typeof v === "object" && !Array.isArray(v)) {
        const on = v.on ?? "any"
        if (!["any", "auth", "topic"].includes(on))
            bad(`${name}.on must be any, auth or topic`)
        const c = v.count ?? "always"
        if (c === "always" || c === true) return { count: "always", on }
        if (!isCount(c)) bad(`${name}.count must be a count or "always"`)
        return c ? { count: c, on } : undefined
    }
    return bad(`${name} must be a count, true/false or {count, on}`)
}

/** Merges `input` into a copy of `cur`; throws FaultInputError if invalid. */
export function applyFaultsInput(
    cur: Faults,
    input: FaultsInput,
    now: number
): Faults {
    if (typeof input !== "object" || input === null || Array.isArray(input))
        bad("faults must be a JSON object")
    const next: Faults = { ...cur }
    const known = new Set([
        "latencyMs",
        ...PRE_FAULTS,
        ...POST_FAULTS,
        "publishError",
        "outageMs",
        "answerData",
    ])
    for (const k of Object.keys(input))
        if (!known.has(k)) bad(`unknown fault ${k}`)
    if ("latencyMs" in input) {
        const v = input.latencyMs ?? 0
        const why = durationProblem("latencyMs", v)
        if (why) bad(why)
        next.latencyMs = v
    }
    for (const k of [
        "stall",
        "closeBeforeResponse",
        "closeMidResponse",
        "malformedJson",
        "chunked",
    ] as const)
        if (k in input) next[k] = parseRule(k, input[k] as RuleInput)
    if ("httpError" in input) {
        const v = input.httpError
        if (v === null || v === false || v === 0) next.httpError = undefined
        else {
            const o = typeof v === "number" ? { status: v } : v
            if (
                typeof o !== "object" ||
                !HTTP_ERROR_STATUSES.includes(o.status)
            )
                bad(`httpError.status must be one of ${HTTP_ERROR_STATUSES}`)
            const rule = parseRule("httpError", { count: o.count, on: o.on })
            next.httpError = rule && { ...rule, status: o.status }
        }
    }
    if ("forceCode" in input) {
        const v = input.forceCode
        if (v === null || v === false) next.forceCode = undefined
        else {
            if (typeof v !== "object" || !(v.code in MESSAGES) || v.code === 0)
                bad("forceCode.code must be one of the spec's error codes")
            const rule = parseRule("forceCode", { count: v.count, on: v.on })
            next.forceCode = rule && { ...rule, code: v.code }
        }
    }
    if ("publishError" in input) {
        const v = input.publishError
        if (v === null || v === false || v === 0) next.publishError = undefined
        else if (v === true || v === "always") next.publishError = "always"
        else if (isCount(v)) next.publishError = v
        else bad(`publishError must be a count or "always"`)
    }
    if ("answerData" in input) {
        const v = input.answerData
        if (v === null || v === false || v === 0) next.answerData = undefined
        else {
            const o = typeof v === "number" ? { bytes: v } : v
            const at = (o as any)?.at ?? "after"
            if (
                typeof o !== "object" ||
                !isCount(o.bytes) ||
                o.bytes > MAX_ANSWER_DATA_BYTES
            )
                bad(
                    `answerData must be a byte count up to ${MAX_ANSWER_DATA_BYTES} or {bytes, at}`
                )
            if (at !== "before" && at !== "after")
                bad('answerData.at must be "before" or "after"')
            next.answerData = o.bytes ? { bytes: o.bytes, at } : undefined
        }
    }
    if ("outageMs" in input) {
        const v = input.outageMs ?? 0
        const why = durationProblem("outageMs", v)
        if (why) bad(why)
        next.outageUntil = v > 0 ? now + v : undefined
    }
    return next
}

function consume(f: Faults, name: RuleFault | "publishError"): boolean {
    if (name === "publishError") {
        const c = f.publishError
        if (c === undefined) return false
        if (c !== "always") f.publishError = c > 1 ? c - 1 : undefined
        return true
    }
    const rule = f[name]
    if (!rule) return false
    if (rule.count !== "always") {
        if (rule.count > 1) f[name] = { ...rule, count: rule.count - 1 } as any
        else f[name] = undefined
    }
    return true
}

function matches(
    rule: FaultRule | undefined,
    scope: "auth" | "topic" | "other"
) {
    return !!rule && (rule.on === "any" || rule.on === scope)
}

/**
 * The first rule fault of `names` that hits a request on `scope`, counted
 * down (mutates `f`), or undefined.
 */
export function takeFault<N extends RuleFault>(
    f: Faults,
    names: readonly N[],
    scope: "auth" | "topic" | "other"
): N | undefined {
    for (const n of names) if (matches(f[n], scope) && consume(f, n)) return n
    return undefined
}

/** Whether the next valid publish fails with 30001 (counted down). */
export function takePublishError(f: Faults) {
    return consume(f, "publishError")
}
