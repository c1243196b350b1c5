# Reference values for analysis.binary, analysis.sensitivity and analysis.safety,
# computed with metafor/metadat so the Python tests can run without R.
# Run from the repository root:
#   Rscript tests/reference/make_reference_binary.R
# It rewrites tests/reference/reference_binary.json.
suppressMessages({
  library(metafor)
  library(jsonlite)
})

out_path <- file.path("tests", "reference", "reference_binary.json")

# Unnamed scalars become JSON numbers; NA becomes null.
num <- function(x) if (is.null(x)) NA else unname(as.numeric(x))

pool_summary <- function(res) {
  list(
    estimate = num(res$beta), se = num(res$se), zval = num(res$zval), pval = num(res$pval),
    ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
    q = num(res$QE), q_pval = num(res$QEp), i2 = num(res$I2), h2 = num(res$H2),
    k = num(res$k), k_yi = num(res$k.yi),
    yi = num(res$yi.f), vi = num(res$vi.f),
    cmh = num(res$MH), cmh_pval = num(res$MHp),
    tarone = num(res$TA), tarone_pval = num(res$TAp),
    breslow_day = num(res$BD),
    weights = num(weights(res))
  )
}

tables <- list()
binary <- list()

# dat.bcg: 13 BCG vaccine trials (tpos/tneg vaccinated, cpos/cneg control).
bcg <- dat.bcg
tables$bcg <- list(ai = bcg$tpos, bi = bcg$tneg, ci = bcg$cpos, di = bcg$cneg,
                   labels = paste(bcg$author, bcg$year))

# dat.nielweise2007: 18 trials with zero cells and one double-zero table (Yucel 2004).
niel <- dat.nielweise2007
tables$nielweise2007 <- list(ai = niel$ai, bi = niel$n1i - niel$ai, ci = niel$ci,
                             di = niel$n2i - niel$ci, labels = paste(niel$author, niel$year))

for (nm in names(tables)) {
  t <- tables[[nm]]
  binary[[nm]] <- list()
  for (m in c("OR", "RR", "RD")) {
    res <- rma.mh(ai = t$ai, bi = t$bi, ci = t$ci, di = t$di, measure = m)
    binary[[nm]][[m]] <- pool_summary(res)
  }
  res <- rma.peto(ai = t$ai, bi = t$bi, ci = t$ci, di = t$di)
  binary[[nm]][["PETO"]] <- pool_summary(res)
}
# Level other than 95 for one case, so the critical value is checked.
res <- rma.mh(ai = tables$bcg$ai, bi = tables$bcg$bi, ci = tables$bcg$ci, di = tables$bcg$di,
              measure = "RR", level = 90)
binary$bcg$RR_level90 <- pool_summary(res)

# Effect sizes for the rma-based sensitivity analyses.
bcg_rr <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
hack <- dat.hackshaw1998
yivi <- list(
  bcg_logrr = list(yi = num(bcg_rr$yi), vi = num(bcg_rr$vi), year = bcg$year,
                   labels = paste(bcg$author, bcg$year)),
  hackshaw1998 = list(yi = num(hack$yi), vi = num(hack$vi), year = hack$year,
                      labels = paste(hack$author, hack$year))
)

loo_frame <- function(x) {
  x <- as.data.frame(x)
  # With test = "knha" metafor names the statistic tval.
  stat <- if (!is.null(x$tval)) x$tval else x$zval
  list(estimate = num(x$estimate), se = num(x$se), zval = num(stat), pval = num(x$pval),
       ci_lb = num(x$ci.lb), ci_ub = num(x$ci.ub), q = num(x$Q), qp = num(x$Qp),
       tau2 = num(x$tau2), i2 = num(x$I2), h2 = num(x$H2))
}

sensitivity <- list()
for (nm in names(yivi)) {
  d <- yivi[[nm]]
  s <- list()
  for (method in c("REML", "DL", "FE")) {
    for (test in c("z", "knha")) {
      if (method == "FE" && test == "knha") next
      key <- paste0(method, if (test == "knha") "_hk" else "")
      fit <- rma(d$yi, d$vi, method = method, test = test, slab = d$labels)
      # cumul() sorts by the variable it is given; ties keep the data order.
      ord <- order(d$year)
      cm <- cumul(fit, order = d$year)
      s[[key]] <- list(
        fit = list(estimate = num(fit$beta), se = num(fit$se), tau2 = num(fit$tau2)),
        leave1out = loo_frame(leave1out(fit)),
        cumul = c(loo_frame(cm), list(order = ord - 1L))
      )
    }
  }
  fit <- rma(d$yi, d$vi, method = "REML")
  eg <- list()
  for (model in c("rma", "lm")) {
    rt <- regtest(fit, model = model)
    eg[[model]] <- list(zval = num(rt$zval), pval = num(rt$pval), df = num(rt$dfs),
                        est = num(rt$est), ci_lb = num(rt$ci.lb), ci_ub = num(rt$ci.ub))
  }
  fit_hk <- rma(d$yi, d$vi, method = "REML", test = "knha")
  rt <- regtest(fit_hk, model = "rma")
  eg[["rma_hk"]] <- list(zval = num(rt$zval), pval = num(rt$pval), df = num(rt$dfs),
                         est = num(rt$est), ci_lb = num(rt$ci.lb), ci_ub = num(rt$ci.ub))
  fit_dl <- rma(d$yi, d$vi, method = "DL")
  rt <- regtest(fit_dl, model = "rma")
  eg[["rma_dl"]] <- list(zval = num(rt$zval), pval = num(rt$pval), df = num(rt$dfs),
                         est = num(rt$est), ci_lb = num(rt$ci.lb), ci_ub = num(rt$ci.ub))
  s$regtest <- eg

  tf <- list()
  for (method in c("REML", "FE", "DL")) {
    for (est in c("L0", "R0")) {
      fit <- rma(d$yi, d$vi, method = method)
      res <- trimfill(fit, estimator = est)
      tf[[paste0(method, "_", est)]] <- list(
        k0 = num(res$k0), se_k0 = num(res$se.k0), side = res$side,
        yi = num(res$yi), vi = num(res$vi), fill = as.logical(res$fill),
        estimate = num(res$beta), se = num(res$se), ci_lb = num(res$ci.lb),
        ci_ub = num(res$ci.ub), tau2 = num(res$tau2), pval = num(res$pval),
        q = num(res$QE), p_k0 = num(res$p.k0))
    }
  }
  s$trimfill <- tf
  sensitivity[[nm]] <- s
}

# Clopper-Pearson intervals from binom.test.
cp_cases <- list(c(0, 10), c(3, 20), c(10, 10), c(1, 15), c(5, 12), c(0, 1), c(7, 31))
clopper <- lapply(cp_cases, function(xn) {
  r <- list()
  for (lev in c(95, 90)) {
    ci <- binom.test(xn[1], xn[2], conf.level = lev / 100)$conf.int
    r[[as.character(lev)]] <- num(ci)
  }
  list(x = xn[1], n = xn[2], ci95 = r[["95"]], ci90 = r[["90"]])
})

ref <- list(
  generated_by = "tests/reference/make_reference_binary.R",
  r_version = R.version.string,
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  tables = tables,
  binary = binary,
  yivi = yivi,
  sensitivity = sensitivity,
  clopper_pearson = clopper
)
writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE), out_path)
cat("wrote", out_path, "\n")
