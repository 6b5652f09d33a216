set terminal svg size 1400,680 dynamic font 'sans,11' background rgb 'white'
set output 'latency.svg'
set termoption noenhanced
set multiplot layout 1,2 title "Latency distribution per login (2026-11-30T2035Z, 2 cores)"
set logscale x
set xlabel 'latency (ms, log scale)'
set ylabel 'percent of logins at or below'
set yrange [0:100]
set grid
set key below maxrows 4 font ',10'
set title '{SHA512-CRYPT} (5000 rounds)'
plot 'sha512-unix-module.cdf' using 1:2 with lines lw 2 lc 1 title 'module, unix, cache on', \
     'sha512-unix-module-nocache.cdf' using 1:2 with lines lw 2 lc 1 dt 2 title 'module, unix, cache off', \
     'sha512-tcp-module.cdf' using 1:2 with lines lw 2 lc 2 title 'module, TCP+SCRAM, cache on', \
     'sha512-tcp-module-nocache.cdf' using 1:2 with lines lw 2 lc 2 dt 2 title 'module, TCP+SCRAM, cache off', \
     'sha512-unix-crypt.cdf' using 1:2 with lines lw 2 lc 3 title 'raw crypt_rn', \
     'sha512-unix-permit.cdf' using 1:2 with lines lw 2 lc 8 title 'pam_permit floor', \
     'saslauthd-n2-c4.cdf' using 1:2 with lines lw 2 lc 4 title 'saslauthd -n 2, 4 clients', \
     'saslauthd-n5-c10.cdf' using 1:2 with lines lw 2 lc 7 title 'saslauthd -n 5, 10 clients'
set title '{PLAIN} (no hashing cost)'
plot 'plain-unix-module.cdf' using 1:2 with lines lw 2 lc 1 title 'module, unix, cache on', \
     'plain-unix-module-nocache.cdf' using 1:2 with lines lw 2 lc 1 dt 2 title 'module, unix, cache off', \
     'plain-tcp-module.cdf' using 1:2 with lines lw 2 lc 2 title 'module, TCP+SCRAM, cache on', \
     'plain-tcp-module-nocache.cdf' using 1:2 with lines lw 2 lc 2 dt 2 title 'module, TCP+SCRAM, cache off', \
     'plain-unix-query.cdf' using 1:2 with lines lw 2 lc 3 title 'raw libpq query, unix', \
     'plain-tcp-query.cdf' using 1:2 with lines lw 2 lc 3 dt 2 title 'raw libpq query, TCP', \
     'plain-unix-permit.cdf' using 1:2 with lines lw 2 lc 8 title 'pam_permit floor'
unset multiplot
