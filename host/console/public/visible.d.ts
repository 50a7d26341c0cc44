/** Types of visible.js (the page's escaping of hidden characters), for the host's tests. */
export declare const HIDDEN_CHARS: RegExp
export declare function visible(text: unknown): string
