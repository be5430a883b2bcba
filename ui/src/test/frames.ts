/**
 * Resolves after the next animation frame. Forms focus their first invalid field on the
 * frame after an invalid submit (focusFirstInvalid); a test that goes on typing must let
 * that frame pass, or the focus can move under it half-way through.
 */
export function nextFrame(): Promise<void> {
  return new Promise((resolve) => requestAnimationFrame(() => resolve()));
}
