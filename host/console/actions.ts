/**
 * The console's actions: assign, widen, stop and rollback, each calling the
 * same functions of the fleet's rollout/ as `npm run fleet -- <command>` and
 * answering with the CLI's words.
 */
import {
    assign,
    type FleetStore,
    parseScope,
    rollback,
    scopeText,
    stop,
    widen,
} from "../fleet/index.ts"
import { operatorNameProblem } from "../lib/operator-name.ts"

/** The actions, by the name in `POST /api/<name>`. */
export const ACTIONS = ["assign", "widen", "stop", "rollback"] as const
/** The name of an action. */
export type ActionName = (typeof ACTIONS)[number]

/** A request the action cannot carry out (answered 400). */
export class ActionError extends Error {}

function optionalId(v: unknown): number | undefined {
    if (v === undefined || v === null || v === "") return undefined
    const n = Number(v)
    if (!Number.isInteger(n) || n < 1)
        throw new ActionError("rollout: a rollout id")
    return n
}

/**
 * A text the operator gave: 1..200 characters, none that would show as
 * something else (controls, bidirectional overrides), no space at the ends.
 */
function text(v: unknown, what: string): string {
    const problem = operatorNameProblem(v, what)
    if (problem) throw new ActionError(problem)
    return v as string
}

/**
 * Carries out action `name` with the JSON body `b`; returns the line the
 * CLI would print.
 * @throws ActionError (bad input) or RangeError (refused by the rollout rules)
 */
export async function runAction(
    store: FleetStore,
    name: ActionName,
    b: any
): Promise<string> {
    switch (name) {
        case "assign": {
            const r = await assign(
                store,
                text(b?.version, "version"),
                parseScope(text(b?.scope, "scope"))
            )
            return `rollout ${r.id}: ${r.version} to ${scopeText(r.scope)}`
        }
        case "widen": {
            const p = Number(String(b?.percent ?? "").replace(/%$/, ""))
            if (!Number.isFinite(p)) throw new ActionError("percent: a number")
            const r = await widen(store, p, optionalId(b?.rollout))
            return `rollout ${r.id}: ${r.version} to ${scopeText(r.scope)}`
        }
        case "stop": {
            const reason =
                b?.reason === undefined || b?.reason === ""
                    ? "stopped from the console"
                    : text(b.reason, "reason")
            const r = await stop(store, reason, optionalId(b?.rollout))
            return `rollout ${r.id} (${r.version}) stopped`
        }
        case "rollback": {
            const device =
                b?.device === undefined || b?.device === ""
                    ? undefined
                    : text(b.device, "device")
            const { rollout, to } = await rollback(store, {
                id: optionalId(b?.rollout),
                deviceId: device,
            })
            return device
                ? `${device} returns to ${to} (rollout ${rollout.id})`
                : `rollout ${rollout.id} (${rollout.version}) rolled back`
        }
    }
}
