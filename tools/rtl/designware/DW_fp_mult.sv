// DW_fp_mult: an OPEN behavioural model written for deltarnn (MIT, like the project). It is NOT
// Synopsys DesignWare code: it only reproduces the module name, parameter order and ports that
// the authors' RTL (dtv1_macc_fp.sv) instantiates, with the semantics the project defines for
// the one configuration that RTL uses. The Rust twin is crates/deltarnn/src/sim/bf16_ops.rs;
// scripts/rtl-dw-check.sh and the RTL suite's designware test check the two against each other.
//
// Supported: sig_width = 7, exp_width = 8 (BF16: 1 sign, 8 exponent with bias 127, 7 fraction
// bits), ieee_compliance = 0, rnd = 3'b000 (round to nearest, ties to even). Other parameter
// values stop elaboration/simulation with $fatal; another rnd drives z to 'x.
//
// Semantics (ieee_compliance = 0):
// - An input with exponent 0 (zero or denormal) is a zero of its sign; an input with exponent
//   255 is an infinity of its sign whatever its fraction (no NaNs).
// - The exact product is rounded once to 8 significant bits, nearest with ties to even, with an
//   unbounded exponent. A rounded magnitude >= 2^128 gives the infinity of the result's sign; one
//   below 2^-126 gives the zero of the result's sign (flush to zero after rounding).
// - A zero result has the xor of the signs. inf x finite and inf x inf give the infinity with the
//   xor sign; inf x 0 (invalid, no NaN to give) too.
// - status (DesignWare layout): [0] zero, [1] infinity, [2] invalid, [3] tiny (a non-zero exact
//   result flushed to zero), [4] huge (a finite exact result overflowed), [5] inexact; [7:6] 0.
//
// Datapath: the two 8-bit significands (hidden bit set) multiply exactly into 16 bits in
// [2^14, 2^16); a one-bit normalisation picks the top 8 bits, the next bit is the round bit and
// the OR of the rest the sticky bit; round to nearest even, a carry out renormalises; then the
// biased exponent (kept signed and wide, i.e. unbounded) decides overflow and flush.
module DW_fp_mult #(
    parameter int sig_width = 7,
    parameter int exp_width = 8,
    parameter int ieee_compliance = 0
) (
    input  logic [sig_width+exp_width:0] a,
    input  logic [sig_width+exp_width:0] b,
    input  logic [2:0]                   rnd,
    output logic [sig_width+exp_width:0] z,
    output logic [7:0]                   status
);
    localparam int W = sig_width + exp_width + 1;
    localparam int EMAX = (1 << exp_width) - 1;
    localparam int BIAS = (1 << (exp_width - 1)) - 1;
    // Signed exponent arithmetic wide enough for 2 x EMAX plus carries, so it never wraps.
    localparam int EW = exp_width + 3;

    initial begin
        if (sig_width != 7 || exp_width != 8 || ieee_compliance != 0)
            $fatal(1, "DW_fp_mult model: only sig_width=7, exp_width=8, ieee_compliance=0 (got %0d, %0d, %0d)",
                   sig_width, exp_width, ieee_compliance);
    end

    // Operand fields.
    logic                 sa, sb, sz;
    logic [exp_width-1:0] ea, eb;
    logic [sig_width-1:0] fa, fb;
    logic                 za, zb, ia, ib;

    // Significand product and its normalised, rounded form.
    logic [2*sig_width+1:0] prod;       // (1.fa)(1.fb) in [2^(2s), 2^(2s+2))
    logic                   top;        // product >= 2, the binary point moves one place
    logic [sig_width:0]     keep;       // 8 significant bits before rounding
    logic                   round_bit, sticky, round_up;
    logic [sig_width+1:0]   rounded;    // keep + round_up, one carry bit
    logic [sig_width-1:0]   frac_out;
    logic signed [EW-1:0]   exp_sum;    // biased exponent of the result, unbounded

    always_comb begin
        sa = a[W-1];
        sb = b[W-1];
        ea = a[W-2:sig_width];
        eb = b[W-2:sig_width];
        fa = a[sig_width-1:0];
        fb = b[sig_width-1:0];
        za = (ea == '0);
        zb = (eb == '0);
        ia = (ea == EMAX[exp_width-1:0]);
        ib = (eb == EMAX[exp_width-1:0]);
        sz = sa ^ sb;

        prod = {1'b1, fa} * {1'b1, fb};
        top = prod[2*sig_width+1];
        if (top) begin
            keep = prod[2*sig_width+1:sig_width+1];
            round_bit = prod[sig_width];
            sticky = |prod[sig_width-1:0];
        end else begin
            keep = prod[2*sig_width:sig_width];
            round_bit = prod[sig_width-1];
            sticky = |prod[sig_width-2:0];
        end
        // Nearest even: up when above the midpoint, or on it with an odd kept LSB.
        round_up = round_bit & (sticky | keep[0]);
        rounded = {1'b0, keep} + {{(sig_width+1){1'b0}}, round_up};

        exp_sum = EW'(ea) + EW'(eb) - EW'(BIAS) + EW'(top);
        if (rounded[sig_width+1]) begin
            // 1.11..1 rounded up to 10.00..0: renormalise.
            exp_sum = exp_sum + EW'(1);
            frac_out = '0;
        end else begin
            frac_out = rounded[sig_width-1:0];
        end

        status = '0;
        if (rnd != 3'b000) begin
            z = 'x;
            status = 'x;
        end else if ((ia & zb) | (za & ib)) begin
            z = {sz, {exp_width{1'b1}}, {sig_width{1'b0}}};
            status[2] = 1'b1;
            status[1] = 1'b1;
        end else if (ia | ib) begin
            z = {sz, {exp_width{1'b1}}, {sig_width{1'b0}}};
            status[1] = 1'b1;
        end else if (za | zb) begin
            z = {sz, {(W-1){1'b0}}};
            status[0] = 1'b1;
        end else if (exp_sum >= EW'(EMAX)) begin
            z = {sz, {exp_width{1'b1}}, {sig_width{1'b0}}};
            status[1] = 1'b1;
            status[4] = 1'b1;
            status[5] = 1'b1;
        end else if (exp_sum <= EW'(0)) begin
            z = {sz, {(W-1){1'b0}}};
            status[0] = 1'b1;
            status[3] = 1'b1;
            status[5] = 1'b1;
        end else begin
            z = {sz, exp_sum[exp_width-1:0], frac_out};
            status[5] = round_bit | sticky;
        end
    end
endmodule
