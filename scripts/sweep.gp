# sweep.gp - one sweep figure (lines with error bars) for scripts/plot.py.
#
# Variables (gnuplot -e): dat (data file: one block per series, first line of each block is
# its quoted title, then "x median low high" lines; blocks separated by two blank lines),
# out, term (png|svg), nblocks, ttl, xl, yl, logx (0|1).
if (term eq "png") set terminal pngcairo size 800,520 font ",9" noenhanced; \
else set terminal svg size 800,520 font ",9" noenhanced
set output out
set title ttl
set xlabel xl
set ylabel yl
set key top left
set grid
if (logx) set logscale x
set datafile missing "?"
plot for [i=0:nblocks-1] dat index i using 1:2:3:4 with yerrorlines \
     lw 1.5 pt 7 ps 0.8 title columnheader(1)
