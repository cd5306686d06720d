// tb_dw_check: drives the project's open DW_fp_mult / DW_fp_add models (BF16: sig_width 7,
// exp_width 8, ieee_compliance 0, rnd 000) with many operand pairs and writes every result to a
// binary file, which the RTL suite's designware test compares against deltarnn's Rust model
// (crates/deltarnn/src/sim/bf16_ops.rs). Built and run by scripts/rtl-dw-check.sh (Verilator).
//
// Plusargs: +out=PATH (required), +pairs=N random pairs (default 16777216), +seed=S (non-zero,
// default 1).
//
// Pairs, in file order:
// 1. Every ordered pair of 512 special operands (262144 pairs): both signs x 32 exponents
//    {0,1,2,3,4,8,9,10, 61..66, 118,119,120,125..129, 188..192, 250,252,253,254,255} x 8
//    fractions {00,01,02,3F,40,41,7E,7F}: zeros, denormals, the smallest and largest normals,
//    infinities and exponent-255 words with a fraction, values near 1, exponent pairs whose
//    products land near 2^-126 (sums near 128) and 2^128 (sums near 381), and close exponents
//    whose sums cancel.
// 2. N random pairs from xorshift64 (x ^= x << 13; x ^= x >> 7; x ^= x << 17) seeded with S, one
//    step per pair: a = x[15:0], b = x[31:16].
//
// File (little-endian): "DWCK", u32 version 1, u64 record count; then per record four u16:
// a, b, DW_fp_mult z, DW_fp_add z. The status outputs are not written; each batch checks that
// their zero and infinity bits agree with z and that invalid comes only with an infinity.
/* verilator lint_off DECLFILENAME */
module tb_dw_check;
    localparam int LANES = 64;
    localparam int NSPECIAL = 512;

    logic [15:0] a[LANES], b[LANES], zm[LANES], za[LANES];
    logic [7:0]  sm[LANES], sa[LANES];

    for (genvar l = 0; l < LANES; l++) begin : g_lane
        DW_fp_mult #(7, 8, 0) u_mult (.a(a[l]), .b(b[l]), .rnd(3'b000), .z(zm[l]), .status(sm[l]));
        DW_fp_add #(7, 8, 0) u_add (.a(a[l]), .b(b[l]), .rnd(3'b000), .z(za[l]), .status(sa[l]));
    end

    logic [15:0] special[NSPECIAL];
    logic [64*LANES-1:0] batch;
    longint unsigned pairs, seed, x, total, done;
    string out;
    int fd;

    /* verilator lint_off UNUSEDSIGNAL */
    function automatic logic status_ok(input logic [15:0] z, input logic [7:0] status);
        return status[0] == (z[14:0] == 15'h0000) && status[1] == (z[14:0] == 15'h7F80)
            && (!status[2] || status[1]) && status[7:6] == 2'b00;
    endfunction
    /* verilator lint_on UNUSEDSIGNAL */

    // Fill `n` lanes from the queue of pairs, settle, and write their records.
    task automatic run_batch(input logic [15:0] qa[LANES], input logic [15:0] qb[LANES], input int n);
        for (int l = 0; l < LANES; l++) begin
            a[l] = qa[l];
            b[l] = qb[l];
        end
        #1;
        for (int l = 0; l < n; l++) begin
            if (!status_ok(zm[l], sm[l]) || !status_ok(za[l], sa[l]))
                $fatal(1, "tb_dw_check: status disagrees with z for a=%h b=%h: mult %h/%b add %h/%b", a[l], b[l],
                       zm[l], sm[l], za[l], sa[l]);
        end
        for (int l = 0; l < LANES; l++) batch[64*l+:64] = {za[l], zm[l], b[l], a[l]};
        if (n == LANES) begin
            $fwrite(fd, "%u", batch);
        end else begin
            for (int l = 0; l < n; l++) $fwrite(fd, "%u", batch[64*l+:64]);
        end
        done += longint'(n);
    endtask

    initial begin
        automatic int exps[32] = '{0, 1, 2, 3, 4, 8, 9, 10, 61, 62, 63, 64, 65, 66, 118, 119, 120, 125, 126, 127,
                                   128, 129, 188, 189, 190, 191, 192, 250, 252, 253, 254, 255};
        automatic logic [6:0] fracs[8] = '{7'h00, 7'h01, 7'h02, 7'h3F, 7'h40, 7'h41, 7'h7E, 7'h7F};
        logic [15:0] qa[LANES], qb[LANES];
        int n, k;

        if (!$value$plusargs("out=%s", out)) $fatal(1, "tb_dw_check: +out=PATH is required");
        if (!$value$plusargs("pairs=%d", pairs)) pairs = 64'd16777216;
        if (!$value$plusargs("seed=%d", seed)) seed = 64'd1;
        if (seed == 0) $fatal(1, "tb_dw_check: +seed must be non-zero (xorshift64)");
        fd = $fopen(out, "wb");
        if (fd == 0) $fatal(1, "tb_dw_check: cannot open %s", out);

        k = 0;
        for (int s = 0; s < 2; s++)
            for (int e = 0; e < 32; e++)
                for (int f = 0; f < 8; f++) begin
                    special[k] = {s[0], exps[e][7:0], fracs[f]};
                    k++;
                end

        total = longint'(NSPECIAL) * longint'(NSPECIAL) + pairs;
        $fwrite(fd, "%u", {total, 32'd1, 32'h4B435744});  // "DWCK", version, count
        done = 0;

        n = 0;
        for (int i = 0; i < NSPECIAL; i++)
            for (int j = 0; j < NSPECIAL; j++) begin
                qa[n] = special[i];
                qb[n] = special[j];
                n++;
                if (n == LANES) begin
                    run_batch(qa, qb, n);
                    n = 0;
                end
            end

        x = seed;
        for (longint unsigned p = 0; p < pairs; p++) begin
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            qa[n] = x[15:0];
            qb[n] = x[31:16];
            n++;
            if (n == LANES) begin
                run_batch(qa, qb, n);
                n = 0;
            end
        end
        if (n > 0) run_batch(qa, qb, n);

        $fclose(fd);
        if (done != total) $fatal(1, "tb_dw_check: wrote %0d records, expected %0d", done, total);
        $display("tb_dw_check: %0d records (%0d special, %0d random, seed %0d) to %s", total,
                 NSPECIAL * NSPECIAL, pairs, seed, out);
        $finish;
    end
endmodule
