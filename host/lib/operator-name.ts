/**
 * Names an operator gives (version names at publish, device ids, group
 * names, a rollout's stop reason): refused when they hold a character that
 * would show differently from what is stored (controls, bidirectional
 * overrides, zero-width and other format characters, line separators, lone
 * surrogates) or start or end with a space, so what a page or a terminal
 * shows is the name itself.
 */
import { HIDDEN_CHARS, visibleText } from "./visible-text.ts"

/**
 * Why `name` (called `what` in the message) is refused, or undefined when
 * it is fine: 1..`maxLength` characters, none hidden, no space at either end.
 */
export function operatorNameProblem(
    name: unknown,
    what: string,
    maxLength = 200
): string | undefined {
    if (typeof name !== "string" || !name.length || name.length > maxLength)
        return `${what}: a text of 1..${maxLength} characters`
    const hidden = name.match(HIDDEN_CHARS)
    if (hidden)
        return `${what}: ${visibleText(hidden[0])} (a control or invisible formatting character) is not allowed in ${visibleText(name)}`
    if (name.trim() !== name)
        return `${what}: no space at the start or the end of "${name}"`
    return undefined
}

/**
 * Throws a RangeError with {@link operatorNameProblem}'s answer when
 * `name` is refused; returns it otherwise.
 */
export function checkOperatorName(
    name: unknown,
    what: string,
    maxLength = 200
): string {
    const problem = operatorNameProblem(name, what, maxLength)
    if (problem) throw new RangeError(problem)
    return name as string
}
