// DW_fp_add: an OPEN behavioural model written for deltarnn (MIT, like the project). It is NOT
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
// - The exact sum is rounded once to 8 significant bits, nearest with ties to even, with an
//   unbounded exponent. A rounded magnitude >= 2^128 gives the infinity of the result's sign; one
//   below 2^-126 gives the zero of the result's sign (flush to zero after rounding).
// - Zeros: x + (-x) = +0, (+0) + (+0) = +0, (-0) + (-0) = -0, (+0) + (-0) = +0; 0 + y = y.
// - inf + finite and inf + inf of one sign give that infinity; inf + (-inf) (invalid, no NaN to
//   give) gives +inf.
// - status (DesignWare layout): [0] zero, [1] infinity, [2] invalid, [3] tiny (a non-zero exact
//   result flushed to zero), [4] huge (a finite exact result overflowed), [5] inexact; [7:6] 0.
//
// Datapath: order the operands by magnitude; extend the larger significand (hidden bit set)
// with guard, round and sticky bits and shift the smaller right by the exponent difference into
// the same frame, OR-ing every bit shifted past the round bit into the sticky bit; add or
// subtract; normalise (one place right on a carry, keeping the sticky; left by the leading-zero
// count after cancellation, which is exact because a cancellation of two or more places needs
// an exponent difference of at most one, and then nothing was shifted out); round to nearest
// even on guard and round|sticky, renormalising on a carry; then the biased exponent (signed and
// wide, i.e. unbounded) decides overflow and flush.
module DW_fp_add #(
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
    // Aligned operand frame: hidden bit, sig_width fraction bits, guard, round, sticky.
    localparam int AW = sig_width + 4;
    // Exponent differences from here on leave the whole smaller significand below the round bit.
    localparam int FAR = sig_width + 3;
    // The smaller significand with room to shift right by up to FAR - 1 places losslessly.
    localparam int YW = 2 * sig_width + 3;
    // Signed exponent arithmetic, wide enough never to wrap.
    localparam int EW = exp_width + 3;

    initial begin
        if (sig_width != 7 || exp_width != 8 || ieee_compliance != 0)
            $fatal(1, "DW_fp_add model: only sig_width=7, exp_width=8, ieee_compliance=0 (got %0d, %0d, %0d)",
                   sig_width, exp_width, ieee_compliance);
    end

    logic                 sa, sb;
    logic [exp_width-1:0] ea, eb;
    logic [sig_width-1:0] fa, fb;
    logic                 za, zb, ia, ib;

    logic                 a_larger, sl, ss, sub;
    logic [exp_width-1:0] el, es, diff;
    logic [sig_width:0]   ml, ms;
    logic [YW-1:0]        shifted;
    logic [AW-1:0]        big_al, sml_al;
    logic [AW:0]          sum;          // one carry bit over the frame
    logic [AW-1:0]        norm;
    logic [$clog2(AW+1)-1:0] lz;
    logic                 found;
    logic                 guard, sticky, round_up;
    logic [sig_width+1:0] rounded;
    logic [sig_width-1:0] frac_out;
    logic signed [EW-1:0] exp_out;

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

        // Larger magnitude first (exponent and fraction compare as one unsigned number).
        a_larger = a[W-2:0] >= b[W-2:0];
        sl = a_larger ? sa : sb;
        ss = a_larger ? sb : sa;
        el = a_larger ? ea : eb;
        es = a_larger ? eb : ea;
        ml = a_larger ? {1'b1, fa} : {1'b1, fb};
        ms = a_larger ? {1'b1, fb} : {1'b1, fa};
        sub = sl ^ ss;
        diff = el - es;

        // Alignment.
        big_al = {ml, 3'b000};
        shifted = {ms, {(sig_width+2){1'b0}}} >> diff;
        if (diff >= exp_width'(FAR))
            sml_al = {{(AW-1){1'b0}}, 1'b1};
        else
            sml_al = {shifted[YW-1:YW-(AW-1)], |shifted[YW-AW:0]};

        // Add or subtract magnitudes; the result is never negative.
        if (sub)
            sum = {1'b0, big_al} - {1'b0, sml_al};
        else
            sum = {1'b0, big_al} + {1'b0, sml_al};

        // Normalisation.
        lz = '0;
        found = 1'b0;
        for (int i = AW - 1; i >= 0; i--) begin
            if (!found && sum[i]) found = 1'b1;
            else if (!found) lz = lz + 1'b1;
        end
        if (sum[AW]) begin
            norm = {sum[AW:2], sum[1] | sum[0]};
            exp_out = EW'(el) + EW'(1);
        end else begin
            norm = sum[AW-1:0] << lz;
            exp_out = EW'(el) - EW'(lz);
        end

        // Round to nearest even.
        guard = norm[2];
        sticky = norm[1] | norm[0];
        round_up = guard & (sticky | norm[3]);
        rounded = {1'b0, norm[AW-1:3]} + {{(sig_width+1){1'b0}}, round_up};
        if (rounded[sig_width+1]) begin
            exp_out = exp_out + EW'(1);
            frac_out = '0;
        end else begin
            frac_out = rounded[sig_width-1:0];
        end

        status = '0;
        if (rnd != 3'b000) begin
            z = 'x;
            status = 'x;
        end else if (ia & ib) begin
            if (sa == sb) begin
                z = {sa, {exp_width{1'b1}}, {sig_width{1'b0}}};
            end else begin
                z = {1'b0, {exp_width{1'b1}}, {sig_width{1'b0}}};
                status[2] = 1'b1;
            end
            status[1] = 1'b1;
        end else if (ia | ib) begin
            z = {ia ? sa : sb, {exp_width{1'b1}}, {sig_width{1'b0}}};
            status[1] = 1'b1;
        end else if (za & zb) begin
            z = {sa & sb, {(W-1){1'b0}}};
            status[0] = 1'b1;
        end else if (za | zb) begin
            z = za ? b : a;
        end else if (sum == '0) begin
            z = '0;
            status[0] = 1'b1;
        end else if (exp_out >= EW'(EMAX)) begin
            z = {sl, {exp_width{1'b1}}, {sig_width{1'b0}}};
            status[1] = 1'b1;
            status[4] = 1'b1;
            status[5] = 1'b1;
        end else if (exp_out <= EW'(0)) begin
            z = {sl, {(W-1){1'b0}}};
            status[0] = 1'b1;
            status[3] = 1'b1;
            status[5] = 1'b1;
        end else begin
            z = {sl, exp_out[exp_width-1:0], frac_out};
            status[5] = guard | sticky;
        end
    end
endmodule
