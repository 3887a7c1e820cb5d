"""The portal's pages (marketplace.views); the JSON API lives under /api/ (marketplace.api)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from marketplace import views
from marketplace.clinic import views as clinic_views

urlpatterns = [
    path("", views.market, name="market"),
    path("signup/", views.signup, name="signup"),
    path("login/", auth_views.LoginView.as_view(template_name="marketplace/login.html",
                                                redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", views.account, name="account"),
    path("account/tokens/", views.issue_token, name="issue_token"),
    path("account/faucet/", views.faucet, name="faucet"),
    path("jobs/", views.jobs, name="jobs"),
    path("jobs/table/", views.jobs_table, name="jobs_table"),
    path("jobs/dry-run/", views.dry_run, name="dry_run"),
    path("jobs/<uuid:job_id>/", views.job, name="job"),
    path("jobs/<uuid:job_id>/live/", views.job_live, name="job_live"),
    path("jobs/<uuid:job_id>/journal/", views.job_journal, name="job_journal"),
    path("jobs/<uuid:job_id>/receipt/", views.job_receipt, name="job_receipt"),
    path("verify/", views.verify, name="verify"),
    path("operator/", views.operator, name="operator"),
    path("clinic/", clinic_views.clinic, name="clinic"),
    path("clinic/diagnosis/<uuid:job_id>/", clinic_views.diagnosis, name="clinic_diagnosis"),
    path("clinic/check/", clinic_views.check, name="clinic_check"),
]
