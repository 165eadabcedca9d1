/**
 * Control and format characters (Unicode Cc and Cf: C0 and C1 controls such as CR, LF, ESC and
 * CSI, DEL, bidirectional overrides, zero-width characters): what makes a terminal, a log or a
 * page show text other than as written. Global, for `String.replace`; blanked wherever text a
 * requester or signer chose is shown (a decision's rejections, the CLI's lines).
 */
export const CONTROL_OR_FORMAT = /[\p{Cc}\p{Cf}]/gu;
