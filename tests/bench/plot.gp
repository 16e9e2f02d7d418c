# tests/bench/plot.gp: the two charts of results.md, drawn by report.py with
#   gnuplot -e "data='DIR'; charts='DIR'; series=N; colors='#rrggbb ...'; wait_ms=20; subtitle='...'" plot.gp
# from the files report.py wrote into `data`: requests.dat (one bar per server, both scenarios)
# and concurrency-hello.dat, concurrency-wait.dat (one column per server swept).

set terminal pngcairo size 1300,620 font "DejaVu Sans,10" noenhanced
set datafile missing "?"
set style fill solid 0.85 border rgb "#333333"
set grid xtics lc rgb "#dddddd"
set border 3
set tics nomirror

# ---- requests.png: requests per second by server, one panel per scenario --------------------------
set output charts.'/requests.png'
set multiplot layout 1,2 title "Requests per second by server, 16 connections (".subtitle.")\nlabels: req/s (× part3, same run)"
bars = data.'/requests.dat'
stats bars using 0 nooutput
rows = STATS_records
set yrange [rows - 0.4 : -0.6]
set ytics scale 0
set xrange [0:*]
set offsets 0, graph 0.35, 0, 0
set lmargin 17
set xlabel "requests per second"

set title "hello: GET /hello, answered at once"
plot bars using 2:0:(0):2:($0 - 0.38):($0 + 0.38):4:ytic(1) with boxxyerror lc rgb variable notitle, \
     '' using 2:0:(" ".stringcolumn(5)) with labels left notitle

set title sprintf("wait: every request waits %d ms before its answer", wait_ms)
plot bars using 3:0:(0):3:($0 - 0.38):($0 + 0.38):4:ytic(1) with boxxyerror lc rgb variable notitle, \
     '' using 3:0:(" ".stringcolumn(6)) with labels left notitle
unset multiplot

# ---- concurrency.png: requests per second against the number of connections -----------------------
reset
set terminal pngcairo size 1300,560 font "DejaVu Sans,10" noenhanced
set output charts.'/concurrency.png'
set datafile missing "?"
set grid lc rgb "#dddddd"
set border 3
set tics nomirror
set logscale xy
set xtics (1, 4, 16, 64)
set xrange [0.8:80]
set xlabel "concurrent connections (wrk -c)"
set ylabel "requests per second (log scale)"
set key outside right top box opaque
set multiplot layout 1,2 title "Requests per second against concurrency (".subtitle.")"
set title "hello: GET /hello, answered at once"
plot for [i=2:series+1] data.'/concurrency-hello.dat' using 1:i with linespoints lw 2 pt 7 ps 0.8 lc rgb word(colors, i-1) title columnheader(i)
set title sprintf("wait: every request waits %d ms", wait_ms)
plot for [i=2:series+1] data.'/concurrency-wait.dat' using 1:i with linespoints lw 2 pt 7 ps 0.8 lc rgb word(colors, i-1) title columnheader(i)
unset multiplot
